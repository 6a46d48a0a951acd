package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.Backends;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task that hangs while its worker stays alive and keeps reporting: the server process of its COPY is frozen
 * (SIGSTOP, as a backend stuck in I/O would be). Neither Kafka nor the coordinator's silence timeout sees anything
 * wrong; the worker's watchdog stops the task once its rows and bytes stop moving, the task is retried, and the
 * backup completes. Needs the PostgreSQL server on this machine, signalled as root or its owner.
 */
class WatchdogIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aTaskThatMakesNoProgressIsStoppedByTheWatchdogAndRetried() throws Exception {
    Backends.assumeLocal(PG);
    String db = PG.uniqueDbName("watchdog");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 1500000) g");
      st.execute("CREATE TABLE stuck (id int PRIMARY KEY)");
      st.execute("INSERT INTO stuck SELECT generate_series(1, 10)");
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 1, metricsPort: -1, stallTimeout: 3s}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(1, "watchdog-it"));
           Connection locker = PG.connect("postgres")) {
        OneDatabaseFleet.awaitLeader(fleet);
        String runId = OneDatabaseFleet.backupNow(fleet, db);
        // The COPY of big is running: freeze its backend (SIGSTOP), as a server stuck in I/O would be. The worker
        // stays alive and keeps reporting; only its counters stop.
        int pid = Backends.awaitCopy(locker, db, "big", Duration.ofSeconds(60));
        Backends.signal("STOP", pid);
        try {
          // The watchdog asks the server to cancel; a frozen backend takes the cancel when it runs again.
          Thread.sleep(5000);
        } finally {
          Backends.signal("CONT", pid);
        }
        events.await("the watchdog to stop the task", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.TASK_FAILED.equals(e.type())
                && e.dataAs(Payloads.TaskFailed.class).reason().contains("stopped by the watchdog")));
        events.await("the run to complete", Duration.ofSeconds(90), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type())));
        List<CloudEvent> all = events.all();
        Payloads.TaskFailed stopped = all.stream().filter(e -> runId.equals(e.runid())
            && EventTypes.TASK_FAILED.equals(e.type())).map(e -> e.dataAs(Payloads.TaskFailed.class))
            .filter(f -> f.reason().contains("stopped by the watchdog")).findFirst().orElseThrow();
        assertThat(stopped.retryable()).isTrue();
        assertThat(stopped.reason()).contains("no progress for 3 s").contains("big");
        assertThat(all).anyMatch(e -> runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type())
            && stopped.taskId().equals(e.taskid()) && e.data().get("attempt").asInt() > stopped.attempt());
        assertThat(all).noneMatch(e -> runId.equals(e.runid()) && EventTypes.BACKUP_FAILED.equals(e.type()));
      }
    } finally {
      PG.dropDatabase(db);
    }
  }
}
