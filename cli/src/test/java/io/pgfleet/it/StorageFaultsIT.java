package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.FaultyStorage;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository failing writes under a run: a short outage (the first writes fail) is carried through by task
 * retries and the backup is whole; a repository that stays full fails the run cleanly, with a clear reason, the
 * storage category, and no manifest.
 */
class StorageFaultsIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aShortOutageIsCarriedThroughByRetriesAndTheBackupIsWhole() throws Exception {
    String db = database("faults_short");
    Path repo = dir.resolve("short");
    FaultyStorage storage = new FaultyStorage(FileSystemStorage.open(repo), n -> n <= 3,
        "injected: connection reset by peer");
    try {
      CloudEvent end = runOnce(db, storage);
      assertThat(end.type()).as("the run's end: " + end.data()).isEqualTo(EventTypes.BACKUP_COMPLETED);
      assertThat(storage.failed()).isEqualTo(3);
      String restored = db + "_r";
      PG.dropDatabase(restored);
      try {
        Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", "latest", "--target",
            PG.url(restored));
        assertThat(r.exitCode()).as(r.err()).isZero();
        DatabaseComparison.compare(PG, db, restored).assertEqual();
      } finally {
        PG.dropDatabase(restored);
      }
    } finally {
      PG.dropDatabase(db);
    }
  }

  @Test
  void aRepositoryThatStaysFullFailsTheRunCleanlyWithNoManifest() throws Exception {
    String db = database("faults_full");
    Path repo = dir.resolve("full");
    IntPredicate afterTwo = n -> n > 2;
    FaultyStorage storage = new FaultyStorage(FileSystemStorage.open(repo), afterTwo, "No space left on device");
    try {
      CloudEvent end = runOnce(db, storage);
      assertThat(end.type()).isEqualTo(EventTypes.BACKUP_FAILED);
      Payloads.BackupFailed f = end.dataAs(Payloads.BackupFailed.class);
      assertThat(f.reason()).contains("No space left on device").contains("after 3 attempts")
          .doesNotContain("\n");
      try (Stream<Path> s = Files.exists(repo) ? Files.walk(repo) : Stream.empty()) {
        assertThat(s.filter(Files::isRegularFile).toList()).as("objects left in a full repository").isEmpty();
      }
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

  /** Backs the database up once through an in-process fleet on the given storage; returns the run's end event. */
  private CloudEvent runOnce(String db, io.pgfleet.common.storage.Storage storage) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      // The repository in the configuration is not used: the fleet writes to the storage given to it.
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), dir.resolve("unused"), db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 2, metricsPort: -1}\n");
      try (FleetProcess fleet = FleetProcess.start(config, storage,
          OneDatabaseFleet.options(1, "faults-it"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        String runId = OneDatabaseFleet.backupNow(fleet, db);
        events.await("the run to end", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
                || EventTypes.BACKUP_FAILED.equals(e.type()))));
        return events.matching(e -> runId.equals(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
            || EventTypes.BACKUP_FAILED.equals(e.type()))).get(0);
      }
    }
  }
}
