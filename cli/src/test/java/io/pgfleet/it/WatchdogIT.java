package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.config.FleetConfigLoader;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task that hangs while its worker stays alive and keeps reporting: its COPY waits behind an ACCESS EXCLUSIVE
 * lock request queued after the run's snapshot holder. Neither Kafka nor the coordinator's silence timeout sees
 * anything wrong; the worker's watchdog stops the task once its rows and bytes stop moving, the task is retried,
 * and once the lock request is gone the backup completes.
 */
class WatchdogIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aTaskThatMakesNoProgressIsStoppedByTheWatchdogAndRetried() throws Exception {
    String db = PG.uniqueDbName("watchdog");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 1000000) g");
      st.execute("CREATE TABLE stuck (id int PRIMARY KEY)");
      st.execute("INSERT INTO stuck SELECT generate_series(1, 10)");
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      Path password = dir.resolve("pw");
      Files.writeString(password, PG.password().orElse(""));
      FleetConfig config = FleetConfigLoader.parse("kafka: {bootstrapServers: '" + kafka.bootstrapServers()
          + "', taskPartitions: 4}\n"
          + "repository: {url: " + repo + "}\n"
          + "clusters:\n"
          + "  - {name: main, host: " + PG.host() + ", port: " + PG.port() + ", user: " + PG.user()
          + (PG.password().isPresent() ? ", password: {file: " + password + "}" : "")
          + ", databases: {include: ['" + db + "']}}\n"
          + "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 1, metricsPort: -1, stallTimeout: 3s}\n", dir);
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          new FleetProcess.Options(true, 1, "it", Duration.ofSeconds(90), Duration.ofSeconds(6), "watchdog-it"));
           Connection locker = PG.connect(db)) {
        long deadline = System.currentTimeMillis() + 30_000;
        while (!fleet.coordinator().leader() && System.currentTimeMillis() < deadline) {
          Thread.sleep(100);
        }
        Thread.sleep(2500);
        String runId = fleet.coordinator().backupNow("main", db).toCompletionStage().toCompletableFuture().get()
            .runId();
        events.await("the run to start", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.BACKUP_STARTED.equals(e.type())));
        // Queued behind the holder's ACCESS SHARE lock, this request makes every later reader of "stuck" wait.
        CompletableFuture<Void> lock = CompletableFuture.runAsync(() -> {
          try (Statement st = locker.createStatement()) {
            locker.setAutoCommit(false);
            st.execute("LOCK TABLE stuck IN ACCESS EXCLUSIVE MODE");
          } catch (Exception e) {
            // cancelled below
          }
        });
        events.await("the watchdog to stop a task", Duration.ofSeconds(90), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.TASK_FAILED.equals(e.type())
                && e.dataAs(Payloads.TaskFailed.class).reason().contains("stopped by the watchdog")));
        // Take the lock request back: the retried task goes through.
        locker.unwrap(org.postgresql.PGConnection.class).cancelQuery();
        lock.get();
        locker.rollback();
        events.await("the run to complete", Duration.ofSeconds(90), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type())));
        List<CloudEvent> all = events.all();
        Payloads.TaskFailed stopped = all.stream().filter(e -> runId.equals(e.runid())
            && EventTypes.TASK_FAILED.equals(e.type())).map(e -> e.dataAs(Payloads.TaskFailed.class))
            .filter(f -> f.reason().contains("stopped by the watchdog")).findFirst().orElseThrow();
        assertThat(stopped.retryable()).isTrue();
        assertThat(stopped.reason()).contains("no progress for 3 s");
        assertThat(all).anyMatch(e -> runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type())
            && stopped.taskId().equals(e.taskid()) && e.data().get("attempt").asInt() > stopped.attempt());
        assertThat(all).noneMatch(e -> runId.equals(e.runid()) && EventTypes.BACKUP_FAILED.equals(e.type()));
      }
    } finally {
      PG.dropDatabase(db);
    }
  }
}
