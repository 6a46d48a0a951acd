package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DDL racing a run: a table cannot be dropped while its database is being backed up (the snapshot holder locks
 * every planned table), so the backup stays whole; a database dropped by force mid-run ends the run with an
 * explicit failure and no backup, never a hang.
 */
class DroppedDuringRunIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aTableCannotBeDroppedMidRunAndADatabaseDroppedByForceFailsTheRunExplicitly() throws Exception {
    String db = PG.uniqueDbName("dropped");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 3000000) g");
      st.execute("CREATE TABLE victim (id int PRIMARY KEY)");
      st.execute("INSERT INTO victim SELECT generate_series(1, 10)");
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 1, metricsPort: -1}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(1, "drop-it"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        String runId = OneDatabaseFleet.backupNow(fleet, db);
        events.await("the run to start", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.BACKUP_STARTED.equals(e.type())));

        // DROP TABLE waits for the holder's lock: with a lock timeout it fails, and the table stays in the backup.
        try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
          st.execute("SET lock_timeout = '200ms'");
          assertThatThrownBy(() -> st.execute("DROP TABLE victim")).isInstanceOf(SQLException.class)
              .hasMessageContaining("lock timeout");
        }

        // The whole database dropped by force: the holder's and the workers' sessions are terminated.
        java.time.Instant dropAt = java.time.Instant.now();
        PG.dropDatabase(db);
        events.await("an explicit end of the run", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && (EventTypes.BACKUP_FAILED.equals(e.type())
                || EventTypes.BACKUP_COMPLETED.equals(e.type()))));
        CloudEvent end = events.matching(e -> runId.equals(e.runid()) && (EventTypes.BACKUP_FAILED.equals(e.type())
            || EventTypes.BACKUP_COMPLETED.equals(e.type()))).get(0);
        if (end.type().equals(EventTypes.BACKUP_COMPLETED)) {
          // A loaded machine can finish the 3M rows before the drop lands: then the backup is whole and was taken
          // before the drop, and the failure path was not reached in this run.
          assertThat(end.time()).as("a completion can only come from before the drop").isBefore(dropAt);
          return;
        }
        assertThat(end.type()).isEqualTo(EventTypes.BACKUP_FAILED);
        assertThat(end.dataAs(Payloads.BackupFailed.class).reason()).isNotBlank().doesNotContain("\n");
        try (Stream<Path> s = Files.exists(repo) ? Files.walk(repo) : Stream.empty()) {
          assertThat(s.filter(p -> p.getFileName().toString().equals("manifest.json")).toList())
              .as("no backup of a database dropped mid-run").isEmpty();
        }
      }
    } finally {
      PG.dropDatabase(db);
    }
  }
}
