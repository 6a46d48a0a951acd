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
 * The PostgreSQL backend of a running COPY task is terminated (pg_terminate_backend): the task fails as retryable
 * and runs again under the same snapshot, which the coordinator still holds, and the backup is whole.
 */
class TerminatedBackendIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aTerminatedCopyIsRetriedUnderTheSameSnapshotAndTheBackupIsWhole() throws Exception {
    String db = PG.uniqueDbName("terminated");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 2000000) g");
      st.execute("CREATE TABLE small (id int PRIMARY KEY)");
      st.execute("INSERT INTO small SELECT generate_series(1, 10)");
    }
    String restored = db + "_r";
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 2, metricsPort: -1}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(1, "term-it"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        String runId = OneDatabaseFleet.backupNow(fleet, db);
        // The COPY of big is running: end its backend.
        int terminated = 0;
        long deadline = System.currentTimeMillis() + 60_000;
        while (terminated == 0 && System.currentTimeMillis() < deadline) {
          try (Connection c = PG.connect("postgres"); Statement st = c.createStatement();
               ResultSet rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                   + " WHERE datname = '" + db + "' AND application_name = 'pgfleet-worker'"
                   + " AND query ILIKE 'COPY%big%' AND state = 'active'")) {
            rs.next();
            terminated = rs.getInt(1);
          }
          Thread.sleep(20);
        }
        assertThat(terminated).as("COPY sessions of big terminated").isEqualTo(1);

        events.await("the run to complete", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type())));
        List<CloudEvent> all = events.all();
        CloudEvent failed = all.stream().filter(e -> runId.equals(e.runid())
            && EventTypes.TASK_FAILED.equals(e.type())).findFirst().orElseThrow();
        Payloads.TaskFailed f = failed.dataAs(Payloads.TaskFailed.class);
        assertThat(f.retryable()).isTrue();
        assertThat(f.attempt()).isEqualTo(1);
        assertThat(f.reason()).contains("big");
        assertThat(all).anyMatch(e -> runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type())
            && failed.taskid().equals(e.taskid()) && e.data().get("attempt").asInt() == 2);
        // One snapshot for the whole run: the retried task imported the same one.
        assertThat(all.stream().filter(e -> runId.equals(e.runid()) && EventTypes.BACKUP_STARTED.equals(e.type())))
            .hasSize(1);
        assertThat(all).noneMatch(e -> runId.equals(e.runid()) && EventTypes.BACKUP_FAILED.equals(e.type()));
      }
      OneDatabaseFleet.restoreLatestAndCompare(PG, repo, db, restored);
    } finally {
      PG.dropDatabase(restored);
      PG.dropDatabase(db);
    }
  }
}
