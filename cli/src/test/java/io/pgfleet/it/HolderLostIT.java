package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snapshot holder's session is terminated mid-run, with the worker's, while the coordinator lives (a
 * failover, a server-side cut): the retried task cannot import the snapshot any more, so the run fails as
 * retryable, saying the holder was lost, and the fleet runs it again with a new snapshot; the backup that results
 * equals the source. (A holder lost while every remaining task runs in a session that already imported the
 * snapshot does not matter: those sessions keep it, and the run completes.)
 */
class HolderLostIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aLostSnapshotHolderFailsTheRunAsRetryableAndANewSnapshotIsTaken() throws Exception {
    String db = PG.uniqueDbName("holderlost");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 1000000) g");
      for (int i = 1; i <= 4; i++) {
        st.execute("CREATE TABLE small" + i + " (id int PRIMARY KEY)");
        st.execute("INSERT INTO small" + i + " SELECT generate_series(1, 100)");
      }
    }
    String restored = db + "_r";
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}, maxRunAttempts: 2}\n"
          + "worker: {slots: 1, metricsPort: -1}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(1, "holder-it"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        String runId = OneDatabaseFleet.backupNow(fleet, db);
        events.await("the big table's task to start", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type()) && e.data().has("table")
                && "big".equals(e.data().get("table").get("name").asText())));
        try (Connection c = PG.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity"
                 + " WHERE datname = '" + db + "' AND application_name IN ('pgfleet-snapshot-holder',"
                 + " 'pgfleet-worker')")) {
          // The holder and the worker's sessions at once (a failover, a server-side cut): the running COPY fails
          // as retryable, and its retry needs a new session, which can no longer import the snapshot.
          List<String> apps = new java.util.ArrayList<>();
          while (rs.next()) {
            apps.add(rs.getString(1));
          }
          assertThat(apps).as("sessions terminated").contains("pgfleet-snapshot-holder", "pgfleet-worker");
        }
        events.await("a completed backup of the database", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(
            e -> EventTypes.BACKUP_COMPLETED.equals(e.type()) && e.subject().equals("main/" + db)));
        List<CloudEvent> all = events.all();
        CloudEvent failed = all.stream().filter(e -> runId.equals(e.runid())
            && EventTypes.BACKUP_FAILED.equals(e.type())).findFirst().orElseThrow();
        assertThat(failed.dataAs(Payloads.BackupFailed.class).reason()).contains("snapshot holder was lost");
        assertThat(all).anyMatch(e -> EventTypes.BACKUP_SCHEDULED.equals(e.type())
            && e.subject().equals("main/" + db) && e.dataAs(Payloads.BackupScheduled.class).attempt() == 2);
        // Two runs, two snapshots.
        assertThat(all.stream().filter(e -> EventTypes.BACKUP_STARTED.equals(e.type())
            && e.subject().equals("main/" + db)).map(e -> e.data().get("snapshot").asText()).distinct())
            .hasSize(2);
      }
      OneDatabaseFleet.restoreLatestAndCompare(PG, repo, db, restored);
    } finally {
      PG.dropDatabase(restored);
      PG.dropDatabase(db);
    }
  }
}
