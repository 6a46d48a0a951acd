package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run admitted to a worker that announces free slots but never takes a task (a worker hung, or partitioned from
 * the broker after its last heartbeat): the run is aborted once the start bound passes, its snapshot released, and
 * it is retried as a new run, up to the configured attempts; each failure is an explicit event.
 */
class FleetAdmissionIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void aRunWhoseTasksNobodyStartsIsAbortedAndRetriedAndReleasesItsSnapshot() throws Exception {
    String db = PG.uniqueDbName("admission");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)");
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}, startTimeout: 5s, maxRunAttempts: 2}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo), new FleetProcess.Options(
          true, 0, "test", Duration.ofSeconds(30), Duration.ofSeconds(6), "admission-it"));
           Ghost ghost = new Ghost(kafka.bootstrapServers())) {
        OneDatabaseFleet.awaitLeader(fleet); // and the ghost's heartbeats reach the coordinator
        fleet.coordinator().backupNow("main", db).toCompletionStage().toCompletableFuture().get();

        events.await("two failed attempts", Duration.ofSeconds(60), evs -> failures(evs, db).size() == 2);
        List<CloudEvent> all = events.all();
        List<CloudEvent> failed = failures(all, db);
        String first = failed.get(0).dataAs(Payloads.BackupFailed.class).reason();
        String second = failed.get(1).dataAs(Payloads.BackupFailed.class).reason();
        assertThat(first).containsAnyOf("not started by any worker within 5 s", "no task of the run started");
        assertThat(second).containsAnyOf("not started by any worker within 5 s", "no task of the run started");
        // The API tells the first attempt was retried, and which run took over.
        var runs = fleet.coordinator().runs(10).toCompletionStage().toCompletableFuture().get();
        assertThat(runs).hasSize(2);
        assertThat(runs.get(1).attempt()).isEqualTo(1);
        assertThat(runs.get(1).reason()).contains("retried as run " + runs.get(0).runId());
        assertThat(runs.get(0).attempt()).isEqualTo(2);
        assertThat(runs.get(0).state()).isEqualTo("FAILED");
        List<Payloads.BackupScheduled> scheduled = all.stream().filter(e -> EventTypes.BACKUP_SCHEDULED.equals(e.type())
            && e.subject().equals("main/" + db)).map(e -> e.dataAs(Payloads.BackupScheduled.class)).toList();
        assertThat(scheduled).extracting(Payloads.BackupScheduled::attempt).containsExactly(1, 2);
        assertThat(all).noneMatch(e -> EventTypes.BACKUP_COMPLETED.equals(e.type()));
        // Each attempt held a snapshot, and released it: no session is left, no object in the repository.
        try (Connection c = PG.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db
                 + "' AND application_name = 'pgfleet-snapshot-holder'")) {
          rs.next();
          assertThat(rs.getInt(1)).isZero();
        }
        try (Stream<Path> s = Files.exists(repo) ? Files.walk(repo) : Stream.empty()) {
          assertThat(s.filter(Files::isRegularFile).toList()).isEmpty();
        }
      }
    } finally {
      PG.dropDatabase(db);
    }
  }

  @Test
  void aRunFailedByACoordinatorThatStoppedIsQueuedAgainByTheNextLeader() throws Exception {
    String db = PG.uniqueDbName("takeover");
    PG.createDatabase(db);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo2");
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}, startTimeout: 10m}\n");
      FleetProcess.Options options = new FleetProcess.Options(true, 0, "test", Duration.ofSeconds(300),
          Duration.ofSeconds(6), "first");
      try (Ghost ghost = new Ghost(kafka.bootstrapServers())) {
        FleetProcess first = FleetProcess.start(config, FileSystemStorage.open(repo), options);
        try {
          OneDatabaseFleet.awaitLeader(first);
          first.coordinator().backupNow("main", db).toCompletionStage().toCompletableFuture().get();
          events.await("the run to start", Duration.ofSeconds(30), evs -> evs.stream().anyMatch(e ->
              EventTypes.BACKUP_STARTED.equals(e.type()) && e.subject().equals("main/" + db)));
        } finally {
          first.close(); // SIGTERM's path: the run is failed explicitly, as the coordinator's
        }
        List<CloudEvent> stopped = failures(events.all(), db);
        assertThat(stopped).hasSize(1);
        assertThat(stopped.get(0).dataAs(Payloads.BackupFailed.class).category())
            .isEqualTo(Payloads.BackupFailed.COORDINATOR);
        try (FleetProcess second = FleetProcess.start(config, FileSystemStorage.open(repo),
            new FleetProcess.Options(true, 0, "test", Duration.ofSeconds(300), Duration.ofSeconds(6), "second"))) {
          OneDatabaseFleet.awaitLeader(second);
          events.await("the database queued again by the new leader", Duration.ofSeconds(30), evs -> evs.stream()
              .anyMatch(e -> EventTypes.BACKUP_SCHEDULED.equals(e.type()) && e.subject().equals("main/" + db)
                  && "recovery".equals(e.dataAs(Payloads.BackupScheduled.class).trigger())));
        }
      }
    } finally {
      PG.dropDatabase(db);
    }
  }

  private static List<CloudEvent> failures(List<CloudEvent> evs, String db) {
    return evs.stream().filter(e -> EventTypes.BACKUP_FAILED.equals(e.type()) && e.subject().equals("main/" + db))
        .toList();
  }

  /** Heartbeats of a worker that owns every task partition, has two free slots, and never consumes. */
  private static final class Ghost implements AutoCloseable {
    private final KafkaProducer<String, String> producer;
    private final Thread thread;
    private volatile boolean stop;

    Ghost(String bootstrapServers) {
      Properties p = new Properties();
      p.put("bootstrap.servers", bootstrapServers);
      p.put("key.serializer", StringSerializer.class.getName());
      p.put("value.serializer", StringSerializer.class.getName());
      producer = new KafkaProducer<>(p);
      thread = new Thread(() -> {
        while (!stop) {
          Payloads.WorkerStatus s = new Payloads.WorkerStatus("ghost", 2, 0,
              IntStream.range(0, 4).boxed().toList(), System.currentTimeMillis());
          producer.send(new ProducerRecord<>(Topics.WORKERS, "ghost", Json.write(s)));
          try {
            Thread.sleep(1000);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "ghost-worker");
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.interrupt();
      thread.join(5000);
      producer.close();
    }
  }
}
