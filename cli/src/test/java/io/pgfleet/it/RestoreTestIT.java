package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgfleet.cli.fleet.FleetRestoreTests;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.coordinator.restoretest.RestoreTestScheduler;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.producer.KafkaProducer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore test restores a backup into a scratch database, proves every table's rows and content (a split table
 * through its combined chunk digests), runs the assertions and drops the scratch database. A row changed inside an
 * artifact whose checksum was forged to match (so {@code pgfleet verify} passes) is caught by the content digest
 * and named; the coordinator's scheduler reports both outcomes as events on the real broker.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestoreTestIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final String PREFIX = "rtit_";
  private static final String SMALL = "\"public\".\"small\"";
  private static final String BIG = "\"public\".\"big\"";
  private static String source;
  private static String goodBackup;
  private static String tamperedBackup;
  @TempDir
  static Path repo;

  @BeforeAll
  static void backUp() throws Exception {
    source = PG.uniqueDbName("restoretest_src");
    PG.createDatabase(source);
    try (Connection c = PG.connect(source); Statement st = c.createStatement()) {
      st.execute("""
          CREATE SCHEMA "Mixed Case";
          CREATE TABLE "Mixed Case"."awkward ""one"" t" (id int PRIMARY KEY, t text, b bytea, n numeric);
          INSERT INTO "Mixed Case"."awkward ""one"" t" VALUES
            (1, E'tab\\there', '\\x00ff'::bytea, 1.5),
            (2, NULL, NULL, NULL),
            (3, E'new\\nline and back\\\\slash', '\\x'::bytea, -0.0001),
            (4, 'ünïcödé ✓ 日本語 🐘', '\\xdeadbeef', 1e20),
            (5, '', '\\x5c', 0);
          CREATE TABLE small (id int PRIMARY KEY, name text);
          INSERT INTO small VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma');
          CREATE TABLE big (id bigint PRIMARY KEY, payload text, note text);
          INSERT INTO big SELECT g, md5(g::text) || repeat('x', 200), CASE WHEN g % 7 = 0 THEN NULL ELSE E'a\\tb' END
            FROM generate_series(1, 25000) g;
          """);
      st.execute("VACUUM ANALYZE");
    }
    goodBackup = backup();
    tamperedBackup = backup();
    JsonNode manifest = manifest(goodBackup);
    long bigChunks = 0;
    for (JsonNode a : manifest.get("data")) {
      if (qualified(a).equals(BIG)) {
        assertThat(a.hasNonNull("chunk")).as("big is split").isTrue();
        bigChunks++;
      }
    }
    assertThat(bigChunks).as("chunks of big").isGreaterThanOrEqualTo(2);
  }

  @AfterAll
  static void drop() throws Exception {
    PG.dropDatabase(source);
  }

  private static String backup() {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers(), "--split-threshold", "1MB", "--chunk-size", "512kB");
    assertThat(b.exitCode()).as(b.err()).isZero();
    return b.out().trim();
  }

  @Test
  @Order(1)
  void aGoodBackupPassesWithEveryTableCheckedAndTheScratchDatabaseDropped() throws Exception {
    Cli.Result r = restoreTest(goodBackup, "--assert", "SELECT count(*) = 3 FROM small",
        "--assert", "SELECT bool_and(payload LIKE '%x') FROM big");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("public.small").contains("public.big").contains("Mixed Case.awkward \"one\" t")
        .doesNotContain("FAIL");
    assertThat(r.err()).contains("restore test of backup " + goodBackup + " passed: 3 tables");
    assertThat(scratchDatabases()).isEmpty();

    JsonNode v = latestVerifyFile(goodBackup);
    assertThat(v.get("kind").asText()).isEqualTo("restore-test");
    assertThat(v.get("backupId").asText()).isEqualTo(goodBackup);
    assertThat(v.get("passed").asBoolean()).isTrue();
    assertThat(v.get("sandbox").asText()).isEqualTo(PG.host() + ":" + PG.port());
    assertThat(v.get("scratchDatabase").asText()).startsWith(PREFIX);
    assertThat(v.get("tables")).hasSize(3);
    for (JsonNode t : v.get("tables")) {
      assertThat(t.get("ok").asBoolean()).isTrue();
      assertThat(t.get("digest").asText()).isEqualTo(t.get("expectedDigest").asText());
      if (t.get("table").get("name").asText().equals("big")) {
        assertThat(t.get("artifacts").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(t.get("rows").asLong()).isEqualTo(25000);
      }
    }
    assertThat(v.get("assertions")).hasSize(2);
    assertThat(v.get("failures")).isEmpty();
    assertThat(v.toString()).doesNotContain("password");

    Cli.Result list = Cli.run("list", "--repo", repo.toString());
    assertThat(list.out()).contains("VERIFIED");
    assertThat(lineOf(list.out(), goodBackup)).matches(".*\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s*$");
    assertThat(lineOf(list.out(), tamperedBackup)).endsWith("-");
    Cli.Result show = Cli.run("show", "--repo", repo.toString(), "--backup", goodBackup);
    assertThat(show.out()).contains("verified  restore test PASSED");
  }

  @Test
  @Order(2)
  void anAssertionReturningFalseFailsTheTestNamingIt() throws Exception {
    Cli.Result r = restoreTest(goodBackup, "--assert", "SELECT count(*) = 4 FROM small",
        "--assert", "SELECT true");
    assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).contains("assertion 'SELECT count(*) = 4 FROM small': returned false")
        .contains("FAILED: 1 assertion failed");
    assertThat(scratchDatabases()).isEmpty();
    JsonNode v = latestVerifyFile(goodBackup);
    assertThat(v.get("passed").asBoolean()).isFalse();
    assertThat(v.get("failures").get(0).asText()).contains("SELECT count(*) = 4 FROM small");
    assertThat(lineOf(Cli.run("list", "--repo", repo.toString()).out(), goodBackup)).endsWith("FAILED");
  }

  @Test
  @Order(3)
  void aChangedRowWithAForgedChecksumPassesVerifyButFailsTheRestoreTestNamingTheTable() throws Exception {
    tamper(tamperedBackup, SMALL, "beta", "betb");
    Cli.Result verify = Cli.run("verify", "--repo", repo.toString(), "--backup", tamperedBackup);
    assertThat(verify.exitCode()).as("pgfleet verify of the forged backup: " + verify.err()).isZero();

    Cli.Result r = restoreTest(tamperedBackup);
    assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).contains("FAILED: table " + SMALL + " differs from the manifest")
        .contains("content digest");
    assertThat(lineOf(r.out(), "public.small")).contains("FAIL");
    assertThat(lineOf(r.out(), "public.big")).contains("ok");
    assertThat(scratchDatabases()).isEmpty();
    JsonNode v = latestVerifyFile(tamperedBackup);
    assertThat(v.get("passed").asBoolean()).isFalse();
    assertThat(v.get("failures")).hasSize(1);
    assertThat(v.get("failures").get(0).asText()).contains(SMALL);
    Cli.Result show = Cli.run("show", "--repo", repo.toString(), "--backup", tamperedBackup);
    assertThat(show.out()).contains("verified  restore test FAILED").contains(SMALL);
  }

  @Test
  @Order(4)
  void theCoordinatorsSchedulerEmitsPassedAndFailedEventsAndKeepsTheLastSuccess() throws Exception {
    FileSystemStorage storage = FileSystemStorage.openExisting(repo);
    Manifest good = new BackupCatalog(storage).find(goodBackup, Optional.empty());
    Manifest bad = new BackupCatalog(storage).find(tamperedBackup, Optional.empty());
    FleetConfig.SecretRef password = null;
    if (PG.password().isPresent()) {
      Path f = Files.createTempFile(repo, "pw", ".txt");
      Files.writeString(f, PG.password().get());
      password = new FleetConfig.SecretRef(null, f);
    }
    FleetConfig.Sandbox sandbox = new FleetConfig.Sandbox(PG.host(), PG.port(), null, PG.user(), password, PREFIX);
    FleetConfig.RestoreTests config = new FleetConfig.RestoreTests(sandbox, List.of(good.cluster() + "/*"), 1,
        Map.of("*/*", List.of("SELECT count(*) = 3 FROM small")), Duration.ofMinutes(5));
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    Vertx vertx = Vertx.vertx();
    KafkaSettings kafka = KafkaSettings.of(TestKafka.bootstrapServers());
    KafkaProducer<String, String> producer = KafkaProducer.create(vertx, kafka.producerProperties("rtit"));
    // A webhook receiver and the coordinator's alerting, reading the same events topic: the failed restore test
    // must page someone.
    List<io.vertx.core.json.JsonObject> hooks = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.vertx.core.http.HttpServer receiver = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      hooks.add(b.toJsonObject());
      req.response().setStatusCode(204).end();
    })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get();
    FleetConfig.Alerts alertConfig = new FleetConfig.Alerts(List.of(new FleetConfig.Webhook("it",
        "http://127.0.0.1:" + receiver.actualPort() + "/hook", null, "json")), Duration.ofMinutes(30),
        Duration.ofHours(1), 30);
    try {
      var context = vertx.getOrCreateContext();
      java.util.concurrent.CompletableFuture<io.pgfleet.coordinator.alerting.Alerting> alerting =
          new java.util.concurrent.CompletableFuture<>();
      context.runOnContext(v -> {
        var a = new io.pgfleet.coordinator.alerting.Alerting(vertx, kafka, alertConfig, List::of,
            new EventPublisher(producer, "/pgfleet/test"));
        a.start().onSuccess(x -> alerting.complete(a)).onFailure(alerting::completeExceptionally);
      });
      alerting.get(60, java.util.concurrent.TimeUnit.SECONDS);
      AtomicReference<RestoreTestScheduler> scheduler = new AtomicReference<>();
      context.runOnContext(v -> {
        RestoreTestScheduler s = new RestoreTestScheduler(vertx, storage, config,
            new FleetRestoreTests(storage, PgTools.fromEnvironment(), null, sandbox, "it"),
            new EventPublisher(producer, "/pgfleet/test"), metrics, "it");
        scheduler.set(s);
        s.backupCompleted(good);
        s.backupCompleted(bad);
      });
      CloudEvent passed = awaitEvent(EventTypes.RESTORE_TEST_PASSED, goodBackup);
      CloudEvent failed = awaitEvent(EventTypes.RESTORE_TEST_FAILED, tamperedBackup);
      assertThat(passed.subject()).isEqualTo(good.cluster() + "/" + good.database());
      Payloads.RestoreTestPassed p = passed.dataAs(Payloads.RestoreTestPassed.class);
      assertThat(p.tables()).isEqualTo(3);
      assertThat(p.rows()).isEqualTo(25000 + 3 + 5);
      assertThat(p.resultKey()).contains(goodBackup + "/verify/");
      assertThat(repo.resolve(p.resultKey())).exists();
      Payloads.RestoreTestFailed f = failed.dataAs(Payloads.RestoreTestFailed.class);
      assertThat(f.failures()).hasSize(1);
      assertThat(f.failures().get(0)).contains(SMALL);
      assertThat(repo.resolve(f.resultKey())).exists();
      assertThat(Json.MAPPER.readTree(Files.readAllBytes(repo.resolve(f.resultKey()))).get("passed").asBoolean())
          .isFalse();
      assertThat(scratchDatabases()).isEmpty();

      long alertDeadline = System.currentTimeMillis() + 30_000;
      while (hooks.isEmpty() && System.currentTimeMillis() < alertDeadline) {
        Thread.sleep(100);
      }
      assertThat(hooks).as("alerts received").hasSize(1);
      io.vertx.core.json.JsonObject alert = hooks.get(0).getJsonObject("alert");
      assertThat(alert.getString("kind")).isEqualTo("restore_test_failed");
      assertThat(alert.getString("status")).isEqualTo("firing");
      assertThat(alert.getString("database")).isEqualTo(bad.database());
      assertThat(alert.getString("summary")).contains(SMALL);
      context.runOnContext(v -> alerting.join().stop());

      double gauge = metrics.get(RestoreTestScheduler.GAUGE).tag("cluster", good.cluster())
          .tag("database", good.database()).gauge().value();
      assertThat((long) gauge).isCloseTo(Instant.now().getEpochSecond(), org.assertj.core.data.Offset.offset(120L));
      AtomicReference<Optional<Instant>> last = new AtomicReference<>();
      context.runOnContext(v -> last.set(scheduler.get().lastPassed(good.cluster(), good.database())));
      long deadline = System.currentTimeMillis() + 5000;
      while (last.get() == null && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      assertThat(last.get()).isPresent();
      context.runOnContext(v -> scheduler.get().close());
    } finally {
      producer.close().toCompletionStage().toCompletableFuture().get();
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  @Test
  @Order(5)
  void aFleetCoordinatorTestsItsCompletedBackupAndShowsTheLastRestoreTest(@TempDir Path dir) throws Exception {
    Path fleetRepo = dir.resolve("repo");
    String password = PG.password().isPresent() ? "    password: {file: " + dir.resolve("pw") + "}\n" : "";
    if (PG.password().isPresent()) {
      Files.writeString(dir.resolve("pw"), PG.password().get());
    }
    Path yaml = dir.resolve("fleet.yaml");
    Files.writeString(yaml, "kafka:\n"
        + "  bootstrapServers: \"" + TestKafka.bootstrapServers() + "\"\n"
        + "  taskPartitions: 8\n"
        + "repository:\n"
        + "  url: " + fleetRepo + "\n"
        + "clusters:\n"
        + "  - name: rt-fleet\n"
        + "    host: " + PG.host() + "\n"
        + "    port: " + PG.port() + "\n"
        + "    user: " + PG.user() + "\n"
        + password
        + "    databases: {include: [\"" + source + "\"]}\n"
        + "coordinator:\n"
        + "  http: {host: 127.0.0.1, port: 0}\n"
        + "worker:\n"
        + "  slots: 2\n"
        + "restoreTests:\n"
        + "  sandbox:\n"
        + "    host: " + PG.host() + "\n"
        + "    port: " + PG.port() + "\n"
        + "    user: " + PG.user() + "\n"
        + password.replace("    password", "      password")
        + "    scratchPrefix: " + PREFIX + "\n"
        + "  include: [\"rt-fleet/*\"]\n"
        + "  assertions:\n"
        + "    \"rt-fleet/*\": [\"SELECT count(*) = 3 FROM small\"]\n"
        + "  timeout: 5m\n");
    FleetConfig config = io.pgfleet.cli.fleet.FleetSetup.load(yaml);
    try (io.pgfleet.cli.fleet.FleetProcess p = io.pgfleet.cli.fleet.FleetProcess.start(config,
        FileSystemStorage.open(fleetRepo), new io.pgfleet.cli.fleet.FleetProcess.Options(true, 1, "it",
            Duration.ofSeconds(90), Duration.ofSeconds(10), "rt-coordinator"))) {
      long deadline = System.currentTimeMillis() + 60_000;
      while (!p.coordinator().leader() && System.currentTimeMillis() < deadline) {
        Thread.sleep(200);
      }
      assertThat(p.coordinator().leader()).as("the coordinator leads").isTrue();
      String runId = p.coordinator().backupNow("rt-fleet", source).toCompletionStage().toCompletableFuture()
          .get().runId();
      assertThat(runId).isNotNull();
      CloudEvent passed = awaitSubjectEvent(EventTypes.RESTORE_TEST_PASSED, "rt-fleet/" + source);
      assertThat(passed.backupid()).isNotNull();
      assertThat(scratchDatabases()).isEmpty();
      var view = p.coordinator().databases("rt-fleet").toCompletionStage().toCompletableFuture().get().stream()
          .filter(d -> d.name().equals(source)).findFirst().orElseThrow();
      assertThat(view.lastRestoreTestAt()).isNotNull();
      assertThat(io.micrometer.core.instrument.Metrics.globalRegistry.find(RestoreTestScheduler.GAUGE)
          .tag("cluster", "rt-fleet").tag("database", source).gauge()).isNotNull();

      // An external consumer that knows only the JSON Schemas: every event of this database validates, and plain
      // JSON gives its last backup and its last verified backup.
      String subject = "rt-fleet/" + source;
      String lastBackup = null;
      String lastVerified = null;
      java.time.Instant lastBackupAt = null;
      java.time.Instant lastVerifiedAt = null;
      for (var r : TestKafka.readAll(Topics.EVENTS)) {
        com.fasterxml.jackson.databind.JsonNode e = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.value());
        if (!subject.equals(e.path("subject").asText())) {
          continue;
        }
        assertThat(io.pgfleet.common.event.EventSchemas.violations(e)).as(e.toString()).isEmpty();
        java.time.Instant at = java.time.Instant.parse(e.get("time").asText());
        switch (e.get("type").asText()) {
          case "io.pgfleet.backup.completed" -> {
            lastBackup = e.get("data").get("backupId").asText();
            lastBackupAt = at;
          }
          case "io.pgfleet.restore_test.passed" -> {
            lastVerified = e.get("data").get("backupId").asText();
            lastVerifiedAt = at;
          }
          default -> { }
        }
      }
      try (java.util.stream.Stream<Path> manifests = Files.walk(fleetRepo)) {
        String newest = manifests.filter(f -> f.getFileName().toString().equals("manifest.json"))
            .map(f -> f.getParent().getFileName().toString()).max(String::compareTo).orElseThrow();
        assertThat(lastBackup).isEqualTo(newest);
        assertThat(lastVerified).isEqualTo(newest);
      }
      assertThat(lastVerifiedAt).isAfterOrEqualTo(lastBackupAt);
      assertThat(Duration.between(view.lastRestoreTestAt(), lastVerifiedAt).abs()).isLessThan(Duration.ofMinutes(1));
    }
  }

  private static CloudEvent awaitSubjectEvent(String type, String subject) throws Exception {
    long deadline = System.currentTimeMillis() + 180_000;
    while (System.currentTimeMillis() < deadline) {
      for (var r : TestKafka.readAll(Topics.EVENTS)) {
        if (r.value() != null && r.value().contains(type)) {
          CloudEvent e = Json.read(r.value(), CloudEvent.class);
          if (type.equals(e.type()) && subject.equals(e.subject())) {
            return e;
          }
        }
      }
      Thread.sleep(500);
    }
    throw new AssertionError("no " + type + " event for " + subject + " within 3 minutes");
  }

  private static CloudEvent awaitEvent(String type, String backupId) throws Exception {
    long deadline = System.currentTimeMillis() + 180_000;
    while (System.currentTimeMillis() < deadline) {
      for (var r : TestKafka.readAll(Topics.EVENTS)) {
        if (r.value() != null && r.value().contains(type)) {
          CloudEvent e = Json.read(r.value(), CloudEvent.class);
          if (type.equals(e.type()) && backupId.equals(e.backupid())) {
            return e;
          }
        }
      }
      Thread.sleep(500);
    }
    throw new AssertionError("no " + type + " event for backup " + backupId + " within 3 minutes");
  }

  private static Cli.Result restoreTest(String backupId, String... more) {
    List<String> args = new ArrayList<>(List.of("restore-test", "--repo", repo.toString(), "--backup", backupId,
        "--sandbox", PG.url("postgres"), "--scratch-prefix", PREFIX));
    args.addAll(List.of(more));
    return Cli.run(args.toArray(String[]::new));
  }

  private static List<String> scratchDatabases() throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = PG.connect("postgres");
         PreparedStatement ps = c.prepareStatement("SELECT datname FROM pg_database WHERE starts_with(datname, ?)")) {
      ps.setString(1, PREFIX);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  private static String lineOf(String text, String containing) {
    return text.lines().filter(l -> l.contains(containing)).findFirst()
        .orElseThrow(() -> new AssertionError("no line with " + containing + " in:\n" + text)).stripTrailing();
  }

  private static Path backupFolder(String backupId) throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals(backupId) && Files.isDirectory(p)).findFirst()
          .orElseThrow();
    }
  }

  private static JsonNode manifest(String backupId) throws Exception {
    return JSON.readTree(backupFolder(backupId).resolve("manifest.json").toFile());
  }

  private static JsonNode latestVerifyFile(String backupId) throws Exception {
    Path dir = backupFolder(backupId).resolve("verify");
    try (Stream<Path> s = Files.list(dir)) {
      Path newest = s.filter(p -> p.getFileName().toString().matches("\\d{8}T\\d{9}Z\\.json")).max(Path::compareTo)
          .orElseThrow();
      return JSON.readTree(newest.toFile());
    }
  }

  private static String qualified(JsonNode artifact) {
    JsonNode t = artifact.get("table");
    return "\"" + t.get("schema").asText() + "\".\"" + t.get("name").asText() + "\"";
  }

  /**
   * Changes one value inside a table's artifact (same row count), and forges the manifest's sha256 and bytes of that
   * artifact only, as an attacker or a buggy tool would: every byte-level check passes, only the rows differ.
   */
  private static void tamper(String backupId, String table, String from, String to) throws Exception {
    Path folder = backupFolder(backupId);
    ObjectNode m = (ObjectNode) JSON.readTree(folder.resolve("manifest.json").toFile());
    ObjectNode artifact = null;
    for (JsonNode a : m.get("data")) {
      if (qualified(a).equals(table)) {
        artifact = (ObjectNode) a;
      }
    }
    assertThat(artifact).as("artifact of " + table).isNotNull();
    Path file = folder.resolve(artifact.get("key").asText());
    String text;
    try (InputStream in = new ZstdInputStream(Files.newInputStream(file))) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(text).contains(from);
    String changed = text.replace(from, to);
    ByteArrayOutputStream packed = new ByteArrayOutputStream();
    try (ZstdOutputStream z = new ZstdOutputStream(packed, 3)) {
      z.setChecksum(true);
      z.write(changed.getBytes(StandardCharsets.UTF_8));
    }
    byte[] bytes = packed.toByteArray();
    Files.write(file, bytes);
    artifact.put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
    artifact.put("bytes", bytes.length);
    JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve("manifest.json").toFile(), m);
  }
}
