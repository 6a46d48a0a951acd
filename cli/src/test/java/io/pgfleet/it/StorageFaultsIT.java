package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.metrics.MetricNames;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.common.storage.ResilientStorage;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.FaultyStorage;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import io.pgfleet.worker.restore.Restorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository failing under a run, behind its resilience layer (ResilientStorage): a short outage (a fraction of
 * writes and reads failing for a few seconds) is carried through by the storage layer's retries with backoff, with
 * no task retried, and the backup restores exactly, also while reads keep failing; a long outage opens the
 * repository's circuit and fails the run cleanly (storage category, no manifest, nothing left once the repository
 * is back), and the circuit closes again once it answers; a repository that stays full is not retried by the
 * storage layer and fails the run after the task's attempts.
 */
class StorageFaultsIT {
  private static final TestPostgres PG = TestPostgres.get();
  /** Quick backoff and a short open circuit, so the IT stays short: 5 attempts within 1.5 s, open for 3 s. */
  private static final ResilientStorage.Settings FAST = new ResilientStorage.Settings(5, Duration.ofMillis(100),
      Duration.ofSeconds(1), 10, Duration.ofSeconds(3), 1);

  @TempDir
  Path dir;

  @Test
  void aShortOutageIsCarriedThroughByStorageRetriesAndTheBackupRestoresUnderReadFaults() throws Exception {
    String db = database("faults_short");
    Path repo = dir.resolve("short");
    FaultyStorage faulty = new FaultyStorage(FileSystemStorage.open(repo));
    Storage storage = ResilientStorage.wrap(faulty, FAST);
    double countedBefore = retriesCounted();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers());
         FleetProcess fleet = start(kafka, db, storage)) {
      // 30 % of writes and 20 % of reads fail for 6 s from the run's start, never more than twice in a row per
      // object: within the layer's 5 attempts every call gets through.
      faulty.inject(FaultyStorage.fraction(0.3, 0.2, 2, 42).lasting(Duration.ofSeconds(6)),
          "injected: Connection reset by peer");
      long faultsEnd = System.currentTimeMillis() + 6_000;
      String runId = OneDatabaseFleet.backupNow(fleet, db);
      CloudEvent end = awaitEnd(events, runId);
      assertThat(end.type()).as("the run's end: " + end.data()).isEqualTo(EventTypes.BACKUP_COMPLETED);
      // Past the fault window (and the last backoff), every injected failure has been followed by a retry.
      Thread.sleep(Math.max(0, faultsEnd - System.currentTimeMillis()) + 1_500);
      assertThat(faulty.failedWrites()).as("writes failed on purpose").isPositive();
      assertThat(ResilientStorage.retries(repo.toString())).as("retries in the storage layer")
          .isEqualTo(faulty.failed());
      assertThat(retriesCounted() - countedBefore).as("pgfleet.storage.retries{backend=fs}")
          .isGreaterThanOrEqualTo(faulty.failed());
      assertThat(events.matching(e -> runId.equals(e.runid()) && EventTypes.TASK_FAILED.equals(e.type())))
          .as("tasks retried by the coordinator").isEmpty();
    }
    String restored = db + "_r";
    PG.dropDatabase(restored);
    try {
      // Restore through the same repository while 30 % of its reads fail (opens, stats, lists), for good.
      faulty.inject(FaultyStorage.fraction(0, 0.3, 2, 7), "injected: Read timed out");
      int failedBefore = faulty.failedReads();
      Storage reading = ResilientStorage.wrap(faulty, FAST);
      Manifest m = new BackupCatalog(reading).find("latest", Optional.of(db));
      new Restorer(reading, PgTools.fromEnvironment(), p -> { })
          .restore(m, PgConnectionInfo.parse(PG.url(restored)), new Restorer.Options(2, false));
      assertThat(faulty.failedReads() - failedBefore).as("reads failed on purpose during the restore").isPositive();
      DatabaseComparison.compare(PG, db, restored).assertEqual();
    } finally {
      faulty.heal();
      PG.dropDatabase(restored);
      PG.dropDatabase(db);
    }
  }

  @Test
  void aLongOutageOpensTheCircuitAndFailsTheRunCleanlyAndTheCircuitClosesOnceTheRepositoryIsBack()
      throws Exception {
    String db = database("faults_long");
    Path repo = dir.resolve("long");
    FaultyStorage faulty = new FaultyStorage(FileSystemStorage.open(repo));
    Storage storage = ResilientStorage.wrap(faulty, FAST);
    // Everything fails for 10 s from the second data commit on: far beyond one call's retries (1.5 s).
    faulty.onDataCommit(2, () -> faulty.inject(FaultyStorage.everything().lasting(Duration.ofSeconds(10)),
        "injected: Connection timed out"));
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers());
         FleetProcess fleet = start(kafka, db, storage)) {
      String runId = OneDatabaseFleet.backupNow(fleet, db);
      CloudEvent end = awaitEnd(events, runId);
      assertThat(end.type()).as("the run's end: " + end.data()).isEqualTo(EventTypes.BACKUP_FAILED);
      Payloads.BackupFailed f = end.dataAs(Payloads.BackupFailed.class);
      assertThat(f.category()).isEqualTo(Payloads.BackupFailed.STORAGE);
      assertThat(f.reason()).contains("repository " + repo).contains("is unavailable (circuit open after 10 failures"
          + " in a row").contains("injected: Connection timed out").doesNotContain("\n");
      assertThat(ResilientStorage.circuitState(repo.toString())).isNotEqualTo(CircuitBreaker.State.CLOSED);
      assertThat(circuitsOpen()).as("pgfleet_storage_circuit_open{backend=fs}").isGreaterThanOrEqualTo(1);
      List<CloudEvent> failedTasks = events.matching(e -> runId.equals(e.runid())
          && EventTypes.TASK_FAILED.equals(e.type()));
      assertThat(failedTasks).as("task attempts: no tight loop while the circuit is open").hasSizeLessThan(10);
      assertThat(manifests(repo)).as("manifests").isEmpty();

      // Once the repository answers again, the failed run's objects go and the circuit closes.
      long deadline = System.currentTimeMillis() + 45_000;
      while (!(objects(repo).isEmpty() && ResilientStorage.circuitState(repo.toString())
          == CircuitBreaker.State.CLOSED) && System.currentTimeMillis() < deadline) {
        Thread.sleep(250);
      }
      assertThat(objects(repo)).as("objects left by the failed run").isEmpty();
      assertThat(ResilientStorage.circuitState(repo.toString())).isEqualTo(CircuitBreaker.State.CLOSED);
      assertThat(circuitsOpen()).as("pgfleet_storage_circuit_open{backend=fs}").isZero();

      String again = OneDatabaseFleet.backupNow(fleet, db);
      CloudEvent second = awaitEnd(events, again);
      assertThat(second.type()).as("the next run: " + second.data()).isEqualTo(EventTypes.BACKUP_COMPLETED);
      assertThat(manifests(repo)).hasSize(1);
    } finally {
      PG.dropDatabase(db);
    }
  }

  @Test
  void aRepositoryThatStaysFullFailsTheRunCleanlyWithNoManifest() throws Exception {
    String db = database("faults_full");
    Path repo = dir.resolve("full");
    IntPredicate afterTwo = n -> n > 2;
    FaultyStorage faulty = new FaultyStorage(FileSystemStorage.open(repo), afterTwo, "No space left on device");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers());
         FleetProcess fleet = start(kafka, db, ResilientStorage.wrap(faulty, FAST))) {
      String runId = OneDatabaseFleet.backupNow(fleet, db);
      CloudEvent end = awaitEnd(events, runId);
      assertThat(end.type()).isEqualTo(EventTypes.BACKUP_FAILED);
      Payloads.BackupFailed f = end.dataAs(Payloads.BackupFailed.class);
      assertThat(f.reason()).contains("No space left on device").contains("after 3 attempts")
          .doesNotContain("\n");
      assertThat(f.category()).isEqualTo(Payloads.BackupFailed.STORAGE);
      // A full disk is a definite answer: not retried by the storage layer, and no reason to open the circuit.
      assertThat(ResilientStorage.retries(repo.toString())).isZero();
      assertThat(ResilientStorage.circuitState(repo.toString())).isEqualTo(CircuitBreaker.State.CLOSED);
      assertThat(objects(repo)).as("objects left in a full repository").isEmpty();
    } finally {
      PG.dropDatabase(db);
    }
  }

  private static String database(String prefix) throws Exception {
    String db = PG.uniqueDbName(prefix);
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      for (int i = 1; i <= 4; i++) {
        st.execute("CREATE TABLE t" + i + " (id int PRIMARY KEY, v text)");
        st.execute("INSERT INTO t" + i + " SELECT g, repeat('x', g % 40) FROM generate_series(1, 5000) g");
      }
    }
    return db;
  }

  /** An in-process fleet on the given storage, its coordinator leading. */
  private FleetProcess start(EmbeddedKafka kafka, String db, Storage storage) throws Exception {
    // The repository in the configuration is not used: the fleet writes to the storage given to it.
    FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), dir.resolve("unused"), db,
        "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
        + "worker: {slots: 2, metricsPort: -1}\n");
    FleetProcess fleet = FleetProcess.start(config, storage, OneDatabaseFleet.options(1, "faults-it"));
    try {
      OneDatabaseFleet.awaitLeader(fleet);
      return fleet;
    } catch (Exception | AssertionError e) {
      fleet.close();
      throw e;
    }
  }

  private static CloudEvent awaitEnd(EventLog events, String runId) {
    events.await("the run to end", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(e -> isEnd(e, runId)));
    return events.matching(e -> isEnd(e, runId)).get(0);
  }

  private static boolean isEnd(CloudEvent e, String runId) {
    return runId.equals(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
        || EventTypes.BACKUP_FAILED.equals(e.type()));
  }

  private static List<Path> objects(Path repo) throws Exception {
    try (Stream<Path> s = Files.exists(repo) ? Files.walk(repo) : Stream.empty()) {
      return s.filter(Files::isRegularFile).toList();
    }
  }

  private static List<Path> manifests(Path repo) throws Exception {
    return objects(repo).stream().filter(p -> p.getFileName().toString().equals("manifest.json")).toList();
  }

  private static double retriesCounted() {
    Counter c = Metrics.globalRegistry.find(MetricNames.STORAGE_RETRIES).tag("backend", "fs").counter();
    return c == null ? 0 : c.count();
  }

  private static double circuitsOpen() {
    Gauge g = Metrics.globalRegistry.find(MetricNames.STORAGE_CIRCUIT_OPEN).tag("backend", "fs").gauge();
    return g == null ? 0 : g.value();
  }
}
