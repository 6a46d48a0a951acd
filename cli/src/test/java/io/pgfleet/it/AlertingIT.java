package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.config.FleetConfigLoader;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Alerts end to end: an in-process fleet (coordinator and worker) on the shared broker and the machine's PostgreSQL,
 * backing up every minute a healthy database and asked to back up one that does not exist yet. A webhook receiver
 * started here gets exactly one backup_failed and one missed_schedule alert for the failing database, their
 * resolutions once the database exists and a backup of it completes, and nothing for the healthy one.
 */
class AlertingIT {
  private static final TestPostgres PG = TestPostgres.get();

  private static HttpServer receiver;
  private static final List<JsonNode> jsonAlerts = new CopyOnWriteArrayList<>();
  private static final List<String> slackTexts = new CopyOnWriteArrayList<>();
  private static FleetProcess fleet;
  private static Path dir;
  private static String prefix;
  private static String healthy;
  private static String failing;

  @BeforeAll
  static void setUp() throws Exception {
    prefix = PG.uniqueDbName("alertit");
    healthy = prefix + "_ok";
    failing = prefix + "_late";
    PG.createDatabase(healthy);
    try (Connection c = PG.connect(healthy); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE items (id int PRIMARY KEY, name text)");
      st.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
    }
    PG.dropDatabase(failing);

    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      JsonNode doc = Json.MAPPER.readTree(body);
      if (exchange.getRequestURI().getPath().startsWith("/slack")) {
        slackTexts.add(doc.path("text").asText());
      } else {
        jsonAlerts.add(doc.path("alert"));
      }
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    receiver.start();

    dir = Files.createTempDirectory("pgfleet-alerting-it-");
    String password = "";
    if (PG.password().isPresent()) {
      Files.writeString(dir.resolve("pg-password"), PG.password().get());
      password = "    password: {file: " + dir.resolve("pg-password") + "}\n";
    }
    int port = receiver.getAddress().getPort();
    String yaml = "kafka:\n"
        + "  bootstrapServers: \"" + TestKafka.bootstrapServers() + "\"\n"
        + "  taskPartitions: 4\n"
        + "repository:\n"
        + "  url: " + dir.resolve("repo") + "\n"
        + "clusters:\n"
        + "  - name: tenant-a\n"
        + "    host: " + PG.host() + "\n"
        + "    port: " + PG.port() + "\n"
        + "    user: " + PG.user() + "\n"
        + password
        + "    databases: {include: [\"" + prefix + "_*\"]}\n"
        + "    schedule: {cron: \"* * * * *\", timeZone: UTC}\n"
        + "coordinator:\n"
        + "  http: {host: 127.0.0.1, port: 0}\n"
        + "  startTimeout: 60s\n"
        + "worker:\n"
        + "  slots: 2\n"
        + "alerts:\n"
        + "  missedGrace: 5s\n"
        + "  dedupWindow: 10m\n"
        + "  webhooks:\n"
        + "    - {name: ops, url: \"http://127.0.0.1:" + port + "/alerts\", format: json}\n"
        // A Slack URL is a secret: by reference, as a deployment would give it.
        + "    - {name: chat, url: {file: " + dir.resolve("slack-url") + "}, format: slack}\n";
    Files.writeString(dir.resolve("slack-url"), "http://127.0.0.1:" + port + "/slack/T000/B000/secret");
    FleetConfig config = FleetConfigLoader.parse(yaml, dir);
    fleet = FleetProcess.start(config, FileSystemStorage.open(dir.resolve("repo")),
        new FleetProcess.Options(true, 1, "it", Duration.ofSeconds(30), Duration.ofSeconds(6), "alerting-it"));
    waitFor("the coordinator to lead", Duration.ofSeconds(60), () -> fleet.coordinator().leader());
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
    if (receiver != null) {
      receiver.stop(0);
    }
    PG.dropDatabase(healthy);
    PG.dropDatabase(failing);
  }

  @Test
  void alertsOncePerProblemAndResolvesWhenTheDatabaseRecovers() throws Exception {
    // The alerting consumer starts right after the take-over; ask again until its alert shows (one alert anyway).
    waitFor("a backup_failed alert for " + failing, Duration.ofSeconds(60), () -> {
      if (count(a -> is(a, "backup_failed", "firing", failing)) > 0) {
        return true;
      }
      fleet.coordinator().backupNow("tenant-a", failing).toCompletionStage().toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      Thread.sleep(3000);
      return count(a -> is(a, "backup_failed", "firing", failing)) > 0;
    });
    JsonNode fired = jsonAlerts.stream().filter(a -> is(a, "backup_failed", "firing", failing)).findFirst()
        .orElseThrow();
    assertThat(fired.path("cluster").asText()).isEqualTo("tenant-a");
    assertThat(fired.path("summary").asText()).startsWith("backup of tenant-a/" + failing + " failed: ");
    assertThat(fired.path("details").path("category").asText()).isEqualTo("database");

    // Known to the fleet from the failed run, never backed up: due one cron interval (60 s) + 5 s after that.
    waitFor("a missed_schedule alert for " + failing, Duration.ofSeconds(100),
        () -> count(a -> is(a, "missed_schedule", "firing", failing)) > 0);

    PG.createDatabase(failing);
    waitFor("both alerts of " + failing + " resolved", Duration.ofSeconds(60), () -> {
      if (count(a -> is(a, "backup_failed", "resolved", failing)) == 0) {
        fleet.coordinator().backupNow("tenant-a", failing).toCompletionStage().toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
        Thread.sleep(3000);
      }
      return count(a -> is(a, "backup_failed", "resolved", failing)) > 0
          && count(a -> is(a, "missed_schedule", "resolved", failing)) > 0;
    });
    Thread.sleep(5000); // anything late (a duplicate, a reminder) would arrive by now

    assertThat(count(a -> is(a, "backup_failed", "firing", failing))).isEqualTo(1);
    assertThat(count(a -> is(a, "missed_schedule", "firing", failing))).isEqualTo(1);
    assertThat(count(a -> is(a, "backup_failed", "resolved", failing))).isEqualTo(1);
    assertThat(count(a -> is(a, "missed_schedule", "resolved", failing))).isEqualTo(1);
    assertThat(jsonAlerts).as("alerts: %s", jsonAlerts).hasSize(4);
    assertThat(jsonAlerts).noneMatch(a -> a.path("database").asText().equals(healthy));
    String firedId = fired.path("id").asText();
    assertThat(jsonAlerts).filteredOn(a -> is(a, "backup_failed", "resolved", failing))
        .singleElement().satisfies(a -> assertThat(a.path("id").asText()).isEqualTo(firedId));

    assertThat(slackTexts).hasSize(4);
    assertThat(slackTexts).anySatisfy(t -> assertThat(t)
        .startsWith(":red_circle: pgfleet: backup of tenant-a/" + failing + " failed: "));
    assertThat(slackTexts).anySatisfy(t -> assertThat(t).startsWith(":large_green_circle: pgfleet: resolved"));

    // The healthy database was backed up on schedule meanwhile: its silence is not for lack of backups.
    List<CloudEvent> events = TestKafka.readAll(Topics.EVENTS).stream().map(ConsumerRecord::value)
        .map(AlertingIT::event).toList();
    assertThat(events).anyMatch(e -> EventTypes.BACKUP_COMPLETED.equals(e.type())
        && e.subject().equals("tenant-a/" + healthy));
    assertThat(events).filteredOn(e -> EventTypes.ALERT.equals(e.type())
        && e.subject().equals("tenant-a/" + failing)).hasSize(4);
  }

  private static CloudEvent event(String json) {
    try {
      return Json.read(json, CloudEvent.class);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean is(JsonNode a, String kind, String status, String database) {
    return a.path("kind").asText().equals(kind) && a.path("status").asText().equals(status)
        && a.path("database").asText().equals(database);
  }

  private static long count(Predicate<JsonNode> p) {
    return jsonAlerts.stream().filter(p).count();
  }

  private interface Condition {
    boolean holds() throws Exception;
  }

  private static void waitFor(String what, Duration timeout, Condition c) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!c.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what
            + "; alerts received: " + jsonAlerts);
      }
      Thread.sleep(500);
    }
  }
}
