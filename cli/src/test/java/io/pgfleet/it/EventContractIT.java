package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgfleet.common.event.EventSchemas;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every event real backups leave on {@code pgfleet.events} (two successful backups of a database with a table split
 * into chunks, and a backup of another database whose selection matches nothing, which fails after the coordinator
 * took it on) conforms to the JSON Schema of its type in
 * docs/events and to the Kafka binding that docs/events/README.md states; and a consumer that knows only that
 * contract rebuilds each database's last backup from the events.
 */
class EventContractIT {
  private static final ObjectMapper PLAIN = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final String CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8";
  private static String db;
  private static String failingDb;
  private static final List<String> backupIds = new ArrayList<>();
  private static List<ConsumerRecord<String, String>> records;
  @TempDir
  static Path repo;

  @BeforeAll
  static void runBackups() throws Exception {
    db = PG.uniqueDbName("event_contract");
    failingDb = PG.uniqueDbName("event_contract_failing");
    PG.createDatabase(db);
    PG.createDatabase(failingDb);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      // About 6 MB of heap: above the 1MB split threshold, so the backup has chunk tasks.
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, note text NOT NULL)");
      st.execute("INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 40000) g");
      st.execute("CREATE TABLE \"Small Ones\" (id int PRIMARY KEY, v text)");
      st.execute("INSERT INTO \"Small Ones\" VALUES (1, 'a'), (2, NULL)");
      st.execute("ANALYZE");
    }
    for (int i = 0; i < 2; i++) {
      Cli.Result b = Cli.run("backup", PG.url(db), "--repo", repo.toString(), "--workers", "2",
          "--kafka", TestKafka.bootstrapServers(), "--split-threshold", "1MB", "--chunk-size", "512kB");
      assertThat(b.exitCode()).as(b.err()).isZero();
      backupIds.add(b.out().trim());
    }
    // A database that does not exist is refused by the CLI before any coordinator runs (no event): a selection that
    // matches nothing fails in the coordinator's planning, which says so on the event stream.
    Cli.Result failed = Cli.run("backup", PG.url(failingDb), "--repo", repo.toString(),
        "--kafka", TestKafka.bootstrapServers(), "-n", "no_such_schema");
    assertThat(failed.exitCode()).as(failed.err()).isEqualTo(1);
    Set<String> ours = Set.of(db, failingDb);
    // Other ITs share the broker: keep the records of this test's databases (the key's database part).
    records = TestKafka.readAll("pgfleet.events").stream()
        .filter(r -> r.key() != null && ours.contains(r.key().substring(r.key().indexOf('/') + 1)))
        .toList();
  }

  @AfterAll
  static void drop() throws Exception {
    PG.dropDatabase(db);
    PG.dropDatabase(failingDb);
  }

  @Test
  void everyEventConformsToTheSchemaOfItsType() {
    assertThat(records).isNotEmpty();
    Map<String, Integer> seen = new HashMap<>();
    for (ConsumerRecord<String, String> r : records) {
      JsonNode e = EventSchemas.parse(r.value());
      // An event of a type without a schema fails here too: violations says "no schema".
      assertThat(EventSchemas.violations(e)).as("%s-%d@%d: %s", r.topic(), r.partition(), r.offset(), r.value())
          .isEmpty();
      seen.merge(e.path("type").asText(), 1, Integer::sum);
    }
    assertThat(seen).containsKeys("io.pgfleet.backup.started", "io.pgfleet.task.started",
        "io.pgfleet.task.completed", "io.pgfleet.backup.completed", "io.pgfleet.backup.failed");
    assertThat(seen.get("io.pgfleet.backup.completed")).isEqualTo(2);
  }

  @Test
  void theBackupsHadChunkTasksAndTheFailingOneABackupFailed() {
    List<JsonNode> events = events();
    assertThat(events).anyMatch(e -> "io.pgfleet.task.completed".equals(e.path("type").asText())
        && e.path("data").path("artifact").has("chunk")
        && e.path("taskid").asText().matches(".*/t\\d{5}-\\d{4}"));
    List<JsonNode> failing = events.stream().filter(e -> e.path("subject").asText().endsWith("/" + failingDb))
        .toList();
    assertThat(failing).extracting(e -> e.path("type").asText()).containsExactly("io.pgfleet.backup.failed");
    assertThat(failing.get(0).path("data").path("reason").asText()).contains("no_such_schema");
  }

  @Test
  void everyRecordFollowsTheKafkaBinding() {
    for (ConsumerRecord<String, String> r : records) {
      JsonNode e = EventSchemas.parse(r.value());
      Header h = r.headers().lastHeader("content-type");
      assertThat(h).as("content-type header of %s", r.value()).isNotNull();
      assertThat(new String(h.value(), StandardCharsets.UTF_8)).isEqualTo(CONTENT_TYPE);
      assertThat(r.key()).isEqualTo(e.path("subject").asText());
    }
  }

  /**
   * What a consumer that knows only docs/events does: per subject, the last backup.completed names the newest
   * backup in the repository, and was sent after that backup's manifest says it finished.
   */
  @Test
  void aConsumerRebuildsEachDatabasesLastBackupFromTheEvents() throws IOException {
    Map<String, JsonNode> lastCompleted = new HashMap<>();
    for (JsonNode e : events()) {
      if ("io.pgfleet.backup.completed".equals(e.path("type").asText())) {
        lastCompleted.merge(e.path("subject").asText(), e,
            (a, b) -> Instant.parse(b.path("time").asText()).isAfter(Instant.parse(a.path("time").asText())) ? b : a);
      }
    }
    assertThat(lastCompleted).hasSize(1);
    Map.Entry<String, JsonNode> only = lastCompleted.entrySet().iterator().next();
    assertThat(only.getKey()).endsWith("/" + db);
    JsonNode event = only.getValue();

    JsonNode newest;
    try (Stream<Path> manifests = Files.walk(repo.resolve(only.getKey()), 2)) {
      newest = manifests.filter(p -> p.getFileName().toString().equals("manifest.json")).map(EventContractIT::read)
          .max(Comparator.comparing(m -> Instant.parse(m.path("finishedAt").asText()))).orElseThrow();
    }
    assertThat(newest.path("backupId").asText()).isEqualTo(backupIds.get(1));
    assertThat(event.path("backupid").asText()).isEqualTo(newest.path("backupId").asText());
    assertThat(event.path("data").path("backupId").asText()).isEqualTo(newest.path("backupId").asText());
    assertThat(event.path("data").path("manifestKey").asText())
        .isEqualTo(only.getKey() + "/" + newest.path("backupId").asText() + "/manifest.json");

    Instant started = Instant.parse(newest.path("startedAt").asText());
    Instant finished = Instant.parse(newest.path("finishedAt").asText());
    Instant sent = Instant.parse(event.path("time").asText());
    assertThat(Duration.between(started, finished).toMillis())
        .isEqualTo(event.path("data").path("durationMillis").asLong());
    // Sent once the manifest is written and the leftovers swept: after finishedAt, and well within a backup's time.
    assertThat(sent).isAfterOrEqualTo(finished).isBefore(finished.plusSeconds(30));
  }

  private static List<JsonNode> events() {
    return records.stream().map(r -> EventSchemas.parse(r.value())).toList();
  }

  private static JsonNode read(Path p) {
    try {
      return PLAIN.readTree(p.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
