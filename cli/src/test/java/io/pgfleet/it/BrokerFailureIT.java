package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.Backends;
import io.pgfleet.it.support.BrokerCluster;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One of three brokers is stopped mid-run, then started again: the broker that coordinates the workers' group. The
 * topics pgfleet created are on three replicas and every producer waits for all in-sync replicas (idempotent), so
 * the run goes on on the two brokers left: it completes, every task ran and completed once, no event is lost or
 * written twice, and the backup restores equal to the source. Needs the server on this machine: the big table's
 * COPY is frozen while the broker goes down, so that the run is still going then.
 */
class BrokerFailureIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final int TABLES = 6;

  @TempDir
  Path dir;

  @Test
  void aBrokerStoppedMidRunAndRestartedLosesNoEventAndRunsNoTaskTwice() throws Exception {
    Backends.assumeLocal(PG);
    String db = PG.uniqueDbName("brokerfailure");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 1500000) g");
      for (int i = 1; i <= TABLES; i++) {
        st.execute("CREATE TABLE t" + i + " (id int PRIMARY KEY, name text)");
        st.execute("INSERT INTO t" + i + " SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
      }
    }
    String restored = db + "_r";
    try (BrokerCluster kafka = BrokerCluster.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      // One task at a time in the cluster: the run lasts long enough for the broker to go down and come back
      // while tasks still start and end.
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db, ", replication: 3",
          ", limits: {maxTasks: 1}", "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 1, metricsPort: -1}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(3, "broker-failure-it"));
           Connection observer = PG.connect("postgres")) {
        OneDatabaseFleet.awaitLeader(fleet);
        Map<String, TopicDescription> topics = kafka.describe(Topics.TASKS, Topics.EVENTS, Topics.WORKERS,
            Topics.DEAD_LETTER, Topics.COORDINATORS);
        topics.values().forEach(t -> t.partitions().forEach(p -> assertThat(p.replicas())
            .as("replicas of " + t.name() + "-" + p.partition()).hasSize(3)));
        int victim;
        try (Admin admin = kafka.admin()) {
          victim = admin.describeConsumerGroups(List.of(Topics.WORKER_GROUP)).all().get(30, TimeUnit.SECONDS)
              .get(Topics.WORKER_GROUP).coordinator().id();
        }
        Set<Integer> ledTaskPartitions = topics.get(Topics.TASKS).partitions().stream()
            .filter(p -> p.leader() != null && p.leader().id() == victim).map(p -> p.partition())
            .collect(Collectors.toCollection(TreeSet::new));
        System.out.println("BrokerFailureIT: stopping broker " + victim + ", the worker group's coordinator and the "
            + "leader of task partitions " + ledTaskPartitions);

        String runId = OneDatabaseFleet.backupNow(fleet, db);
        // The COPY of big is held (its server process frozen) while the broker goes down, so that the run is
        // still going, however fast this machine, and its other tasks start and end during the outage.
        int pid = Backends.awaitCopy(observer, db, "big", Duration.ofSeconds(60));
        Instant stoppedAt;
        Instant stopDone;
        Backends.signal("STOP", pid);
        try {
          stoppedAt = Instant.now();
          kafka.stop(victim);
          stopDone = Instant.now();
        } finally {
          Backends.signal("CONT", pid);
        }
        assertThat(events.all()).as("the run is still going when the broker is down").noneMatch(e ->
            runId.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type()));
        Thread.sleep(6000);
        Instant restartedAt = Instant.now();
        kafka.restart(victim);
        System.out.println("BrokerFailureIT: broker " + victim + " stopped at " + stoppedAt + " (down at " + stopDone
            + "), started again at " + restartedAt + ", up at " + Instant.now());

        events.await("the run to complete", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
                || EventTypes.BACKUP_FAILED.equals(e.type()))));
        // Give a late duplicate the time to show up.
        Thread.sleep(2000);
        List<CloudEvent> all = events.all();
        List<CloudEvent> run = all.stream().filter(e -> runId.equals(e.runid())).toList();
        assertThat(run).noneMatch(e -> EventTypes.BACKUP_FAILED.equals(e.type()));
        assertThat(run).filteredOn(e -> EventTypes.BACKUP_COMPLETED.equals(e.type())).hasSize(1);
        assertThat(run).noneMatch(e -> EventTypes.TASK_FAILED.equals(e.type()));

        // Every task of the run started once and completed once; the events say so (none lost, none twice).
        int tasks = run.stream().filter(e -> EventTypes.BACKUP_STARTED.equals(e.type())).findFirst().orElseThrow()
            .dataAs(Payloads.BackupStarted.class).tasks();
        Map<String, Long> started = count(run, EventTypes.TASK_STARTED);
        Map<String, Long> completed = count(run, EventTypes.TASK_COMPLETED);
        assertThat(started).as("task.started per task").hasSize(tasks).allSatisfy((t, n) -> assertThat(n).isOne());
        assertThat(completed).as("task.completed per task").hasSize(tasks)
            .allSatisfy((t, n) -> assertThat(n).isOne());
        assertThat(completed.keySet()).isEqualTo(started.keySet());
        // Nothing written twice by a producer retrying through the leader change.
        assertThat(all.stream().map(CloudEvent::id).distinct().count()).as("distinct event ids")
            .isEqualTo(all.size());
        // Events sent while the broker was down reached the topic.
        List<CloudEvent> duringOutage = run.stream().filter(e -> !e.time().isBefore(stopDone)
            && e.time().isBefore(restartedAt)).toList();
        System.out.println("BrokerFailureIT: " + tasks + " tasks; events of the run while the broker was down: "
            + duringOutage.stream().collect(Collectors.groupingBy(CloudEvent::type, java.util.TreeMap::new,
                Collectors.counting())));
        assertThat(duringOutage).as("events of the run published while the broker was down").isNotEmpty();
        assertThat(duringOutage).as("task lifecycle events published while the broker was down").anyMatch(e ->
            EventTypes.TASK_STARTED.equals(e.type()) || EventTypes.TASK_COMPLETED.equals(e.type()));
        // The restarted broker caught up: every partition is on three in-sync replicas again.
        long deadline = System.currentTimeMillis() + 60_000;
        while (kafka.describe(Topics.TASKS, Topics.EVENTS).values().stream().flatMap(t -> t.partitions().stream())
            .anyMatch(p -> p.isr().size() < 3)) {
          assertThat(System.currentTimeMillis()).as("broker " + victim + " back in sync").isLessThan(deadline);
          Thread.sleep(500);
        }
      }
      OneDatabaseFleet.restoreLatestAndCompare(PG, repo, db, restored);
    } finally {
      PG.dropDatabase(restored);
      PG.dropDatabase(db);
    }
  }

  private static Map<String, Long> count(List<CloudEvent> run, String type) {
    return run.stream().filter(e -> type.equals(e.type()))
        .collect(Collectors.groupingBy(CloudEvent::taskid, Collectors.counting()));
  }
}
