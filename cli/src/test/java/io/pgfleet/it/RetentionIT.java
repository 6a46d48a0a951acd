package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.repository.BackupLocks;
import io.pgfleet.common.retention.RetentionExecutor;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.coordinator.retention.RetentionReaction;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.producer.KafkaProducer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Retention against a real repository: one real backup made by the CLI (real PostgreSQL, the real broker), copied
 * into a history of backups with chosen times. Copying is faithful for retention: it reads only manifests (their
 * backupId and finishedAt), {@code verify/*.json} and {@code locks/*.json}, and deletes whole folders; the copies'
 * artifacts are the real ones, and the manifests are rewritten only in backupId, startedAt and finishedAt (artifact
 * keys are relative to the folder, so every copy stays a valid, verifiable backup).
 */
class RetentionIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final String DB = "retention_it_" + Long.toHexString(System.nanoTime() & 0xffffff);
  private static final DateTimeFormatter ID =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  /** Finish times of the history; 2026-03-02 (Monday) begins ISO week 2026-W10. */
  private static final List<String> HISTORY = List.of("2026-01-10T03:00:00Z", "2026-02-14T03:00:00Z",
      "2026-03-01T03:00:00Z", "2026-03-01T15:00:00Z", "2026-03-02T03:00:00Z", "2026-03-03T03:00:00Z",
      "2026-03-04T03:00:00Z", "2026-03-05T03:00:00Z", "2026-03-05T20:00:00Z");
  /** Passed a restore test (no rule below keeps it). */
  private static final String VERIFIED = "2026-03-01T03:00:00Z";
  /** Locked by a restore while retention runs (no rule below keeps it). */
  private static final String LOCKED = "2026-03-02T03:00:00Z";

  @TempDir
  static Path work;
  private static Path original;
  private static String cluster;

  @BeforeAll
  static void backup() throws Exception {
    PG.createDatabase(DB);
    try (var c = PG.connect(DB); var st = c.createStatement()) {
      st.execute("CREATE TABLE t (id int PRIMARY KEY, note text)");
      st.execute("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 500) g");
    }
    Path repo = work.resolve("origin");
    Cli.Result b = Cli.run("backup", PG.url(DB), "--repo", repo.toString(), "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    String id = b.out().trim();
    try (Stream<Path> s = Files.walk(repo)) {
      original = s.filter(p -> p.getFileName().toString().equals(id)).findFirst().orElseThrow();
    }
    cluster = original.getParent().getParent().getFileName().toString();
  }

  @AfterAll
  static void dropDatabase() throws Exception {
    PG.dropDatabase(DB);
  }

  /** A fresh repository holding the history: backup id per finish time, newest last. */
  private static Map<String, String> history(Path repo) throws IOException {
    Map<String, String> ids = new LinkedHashMap<>();
    for (String t : HISTORY) {
      Instant at = Instant.parse(t);
      String id = ID.format(at) + "-" + String.format("%06x", ids.size() + 0xa0);
      Path to = repo.resolve(cluster).resolve(DB).resolve(id);
      copy(original, to);
      ObjectNode m = (ObjectNode) JSON.readTree(to.resolve("manifest.json").toFile());
      m.put("backupId", id);
      m.put("startedAt", at.minusSeconds(30).toString());
      m.put("finishedAt", at.toString());
      Files.write(to.resolve("manifest.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
      ids.put(t, id);
    }
    Path verify = repo.resolve(cluster).resolve(DB).resolve(ids.get(VERIFIED)).resolve("verify");
    Files.createDirectories(verify);
    Files.writeString(verify.resolve("20260301T050000000Z.json"),
        "{\"backupId\": \"" + ids.get(VERIFIED) + "\", \"passed\": true, \"finishedAt\": \"2026-03-01T05:00:00Z\"}");
    // A failed restore test of the newest: does not make it "the newest passed".
    Path failed = repo.resolve(cluster).resolve(DB).resolve(ids.get("2026-03-05T20:00:00Z")).resolve("verify");
    Files.createDirectories(failed);
    Files.writeString(failed.resolve("20260305T210000000Z.json"), "{\"passed\": false}");
    return ids;
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  static Stream<Arguments> policies() {
    String v = "newest passed restore test";
    String l = "locked by restore (until ";
    return Stream.of(
        Arguments.of(List.of("--keep-last", "2"), Map.of(
            "2026-03-05T20:00:00Z", "last 1/2, newest backup",
            "2026-03-05T03:00:00Z", "last 2/2",
            VERIFIED, v, LOCKED, l)),
        Arguments.of(List.of("--keep-daily", "3", "--keep-monthly", "3"), Map.of(
            "2026-03-05T20:00:00Z", "daily 2026-03-05, monthly 2026-03, newest backup",
            "2026-03-04T03:00:00Z", "daily 2026-03-04",
            "2026-03-03T03:00:00Z", "daily 2026-03-03",
            "2026-02-14T03:00:00Z", "monthly 2026-02",
            "2026-01-10T03:00:00Z", "monthly 2026-01",
            VERIFIED, v, LOCKED, l)),
        Arguments.of(List.of("--keep-weekly", "2", "--time-zone", "Europe/Berlin"), Map.of(
            "2026-03-05T20:00:00Z", "weekly 2026-W10, newest backup",
            "2026-03-01T15:00:00Z", "weekly 2026-W09",
            VERIFIED, v, LOCKED, l)));
  }

  @ParameterizedTest
  @MethodSource("policies")
  void keepsExactlyWhatThePolicySaysAndNothingIsDeletedInADryRun(List<String> policy, Map<String, String> expected,
      @TempDir Path repo) throws Exception {
    Map<String, String> ids = history(repo);
    List<String> args = new ArrayList<>(List.of("retention", "--repo", repo.toString()));
    args.addAll(policy);
    try (Storage storage = FileSystemStorage.open(repo);
         BackupLocks.Lock lock = BackupLocks.acquire(storage, cluster, DB, ids.get(LOCKED), "restore")) {
      // dry run: the decisions, and every folder still there
      List<String> dry = new ArrayList<>(args);
      dry.add("--dry-run");
      Cli.Result d = Cli.run(dry.toArray(String[]::new));
      assertThat(d.exitCode()).as(d.err()).isZero();
      assertDecisions(d.out(), ids, expected, "would delete ");
      assertThat(d.out()).contains("dry run, 1 database(s): " + expected.size() + " backup(s) kept, "
          + (HISTORY.size() - expected.size()) + " would be deleted");
      assertThat(folders(repo)).containsExactlyInAnyOrderElementsOf(ids.values());

      Cli.Result r = Cli.run(args.toArray(String[]::new));
      assertThat(r.exitCode()).as(r.err()).isZero();
      assertDecisions(r.out(), ids, expected, "delete ");
    }
    List<String> keptIds = expected.keySet().stream().map(ids::get).toList();
    assertThat(folders(repo)).containsExactlyInAnyOrderElementsOf(keptIds);
    Cli.Result list = Cli.run("list", "--repo", repo.toString());
    assertThat(list.exitCode()).isZero();
    List<String> listed = list.out().lines().skip(1).map(line -> line.split("\\s+")[0]).toList();
    assertThat(listed).containsExactlyInAnyOrderElementsOf(keptIds);
    // what is kept is whole: every kept backup still verifies
    Cli.Result v = Cli.run("verify", "--repo", repo.toString(), "--backup", ids.get("2026-03-05T20:00:00Z"));
    assertThat(v.exitCode()).as(v.err()).isZero();
  }

  private static void assertDecisions(String out, Map<String, String> ids, Map<String, String> expected,
      String deleteWord) {
    List<String> lines = out.lines().filter(x -> x.startsWith("keep ") || x.startsWith(deleteWord)).toList();
    List<String> want = new ArrayList<>();
    for (String t : HISTORY) {
      String id = ids.get(t);
      want.add(expected.containsKey(t) ? "keep " + id + " " + cluster + "/" + DB + ": " + expected.get(t)
          : deleteWord + id + " " + cluster + "/" + DB);
    }
    assertThat(lines).hasSize(want.size());
    for (String w : want) {
      // the lock's expiry is only known at run time: compare up to it
      assertThat(lines).anyMatch(x -> x.startsWith(w));
    }
  }

  private static List<String> folders(Path repo) throws IOException {
    try (Stream<Path> s = Files.list(repo.resolve(cluster).resolve(DB))) {
      return s.map(p -> p.getFileName().toString()).toList();
    }
  }

  @Test
  void policyFromFlagsAndConfigTogetherOrKeepingNothingIsAOneLineErrorAndDeletesNothing(@TempDir Path repo)
      throws Exception {
    Map<String, String> ids = history(repo);
    Cli.Result none = Cli.run("retention", "--repo", repo.toString(), "--min-age", "7d");
    assertThat(none.exitCode()).isEqualTo(1);
    assertThat(none.errorLines()).singleElement().asString().contains("keeps nothing");
    Path config = repo.resolveSibling("fleet-" + System.nanoTime() + ".yaml");
    Files.writeString(config, "repository:\n  url: " + repo + "\n");
    Cli.Result both = Cli.run("retention", "--config", config.toString(), "--keep-last", "1");
    assertThat(both.exitCode()).isEqualTo(1);
    assertThat(both.errorLines()).singleElement().asString().contains("not both");
    assertThat(folders(repo)).containsExactlyInAnyOrderElementsOf(ids.values());
  }

  /**
   * A deletion that fails after the manifest is gone leaves a folder that is no longer a backup: {@code list} does
   * not show it, and the next run removes it (its id is far older than the 2-day bound).
   */
  @Test
  void aHalfDeletedBackupIsNeverListedAndTheNextRunFinishesIt(@TempDir Path repo) throws Exception {
    Map<String, String> ids = history(repo);
    String victim = ids.get("2026-01-10T03:00:00Z");
    FleetConfig.RetentionPolicy keepLast1 = new FleetConfig.RetentionPolicy(1, 0, 0, 0, 0, Duration.ZERO,
        ZoneId.of("UTC"));
    RetentionExecutor.Report report;
    try (Storage fs = FileSystemStorage.open(repo)) {
      Storage failing = new FailingDeletes(fs, "/" + victim + "/data/");
      report = new RetentionExecutor(failing).apply(cluster, DB, keepLast1, RetentionExecutor.Options.defaults(),
          Instant.now());
    }
    assertThat(report.failures()).singleElement().satisfies(f -> assertThat(f.backupId()).isEqualTo(victim));
    Path folder = repo.resolve(cluster).resolve(DB).resolve(victim);
    assertThat(folder.resolve("manifest.json")).doesNotExist();
    assertThat(folder.resolve("data")).isNotEmptyDirectory();
    Cli.Result list = Cli.run("list", "--repo", repo.toString());
    assertThat(list.out()).doesNotContain(victim);

    Cli.Result again = Cli.run("retention", "--repo", repo.toString(), "--keep-last", "1");
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out()).contains("remove " + victim + " " + cluster + "/" + DB + ": folder without manifest");
    assertThat(folder).doesNotExist();
  }

  /** A folder without a manifest whose id is recent may be a backup still running: it is left alone. */
  @Test
  void aRecentFolderWithoutManifestIsLeftAlone(@TempDir Path repo) throws Exception {
    history(repo);
    String running = ID.format(Instant.now().minus(Duration.ofHours(3))) + "-00beef";
    Path folder = repo.resolve(cluster).resolve(DB).resolve(running);
    Files.createDirectories(folder.resolve("data"));
    Files.copy(original.resolve("RESTORE.md"), folder.resolve("RESTORE.md"));
    Cli.Result r = Cli.run("retention", "--repo", repo.toString(), "--keep-last", "1");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(folder.resolve("RESTORE.md")).exists();
  }

  /** The coordinator's reaction against the real broker: each deleted backup is an event. */
  @Test
  void theCoordinatorsReactionAnnouncesEveryDeletedBackup(@TempDir Path repo) throws Exception {
    Map<String, String> ids = history(repo);
    FleetConfig.Retention retention = new FleetConfig.Retention(List.of(new FleetConfig.RetentionRule(
        cluster + "/" + DB, new FleetConfig.RetentionPolicy(3, 0, 0, 0, 0, Duration.ZERO, ZoneId.of("UTC")))), null);
    Vertx vertx = Vertx.vertx();
    List<RetentionReaction.Deleted> forgotten = new CopyOnWriteArrayList<>();
    try (Storage storage = FileSystemStorage.open(repo)) {
      KafkaProducer<String, String> producer = KafkaProducer.create(vertx,
          KafkaSettings.of(TestKafka.bootstrapServers()).producerProperties("retention-it"));
      EventPublisher events = new EventPublisher(producer, "/pgfleet/test/retention-it");
      RetentionReaction reaction = new RetentionReaction(vertx, storage, retention, () -> events, forgotten::add);
      assertThat(reaction.afterBackup(cluster, "not_matched").toCompletionStage().toCompletableFuture()
          .get(30, TimeUnit.SECONDS)).isEmpty();
      Optional<RetentionExecutor.Report> report = reaction.afterBackup(cluster, DB).toCompletionStage()
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(report).isPresent();
      producer.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    // keepLast 3, plus the verified and the locked-free history: VERIFIED survives; LOCKED is not locked here
    List<String> deleted = HISTORY.stream().filter(t -> !t.equals(VERIFIED))
        .filter(t -> HISTORY.indexOf(t) < HISTORY.size() - 3).map(ids::get).toList();
    assertThat(forgotten).extracting(RetentionReaction.Deleted::backupId).containsExactlyInAnyOrderElementsOf(deleted);
    List<JsonNode> events = new ArrayList<>();
    TestKafka.readAll(Topics.EVENTS).forEach(rec -> {
      try {
        JsonNode e = JSON.readTree(rec.value());
        if ("io.pgfleet.retention.deleted".equals(e.path("type").asText())
            && (cluster + "/" + DB).equals(e.path("subject").asText())) {
          events.add(e);
        }
      } catch (IOException ex) {
        throw new IllegalStateException(ex);
      }
    });
    assertThat(events).extracting(e -> e.path("backupid").asText()).containsExactlyInAnyOrderElementsOf(deleted);
    assertThat(events).allSatisfy(e -> {
      assertThat(e.path("data").path("backupId").asText()).isEqualTo(e.path("backupid").asText());
      assertThat(e.path("data").path("policy").asText()).isEqualTo("keepLast 3, timeZone UTC");
    });
    assertThat(folders(repo)).containsExactlyInAnyOrderElementsOf(HISTORY.stream()
        .filter(t -> !deleted.contains(ids.get(t))).map(ids::get).toList());
  }

  /** A storage whose deletes under one prefix fail: a repository that breaks midway through a deletion. */
  private record FailingDeletes(Storage delegate, String failUnder) implements Storage {
    @Override
    public ObjectWriter create(String key) throws IOException {
      return delegate.create(key);
    }

    @Override
    public InputStream open(String key) throws IOException {
      return delegate.open(key);
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
      return delegate.open(key, offset);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
      return delegate.stat(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
      return delegate.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
      if (key.contains(failUnder)) {
        throw new IOException("simulated: cannot delete " + key);
      }
      delegate.delete(key);
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
      return delegate.createIfAbsent(key, content);
    }

    @Override
    public String describe() {
      return delegate.describe();
    }
  }
}
