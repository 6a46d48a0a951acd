package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.Backends;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.FleetProcesses;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.MemberDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tasks against the worker group's timeouts, set short here ({@code session.timeout.ms} and
 * {@code max.poll.interval.ms} 6 s, through {@code kafka.properties}). A task that runs more than five times as
 * long (its COPY's server process frozen for 35 s) causes no rebalance and runs once: the worker pauses its partition
 * and keeps polling. A worker process killed mid-task has its task redelivered to the other worker once the group
 * notices, after the session timeout, and the run completes.
 */
class LongTaskIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final int SESSION_MS = 6000;
  private static final String KAFKA = ", properties: {session.timeout.ms: '" + SESSION_MS
      + "', max.poll.interval.ms: '" + SESSION_MS + "'}";

  @TempDir
  Path dir;

  private static void fill(String db) throws Exception {
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text)");
      st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 1500000) g");
      for (int i = 1; i <= 3; i++) {
        st.execute("CREATE TABLE small" + i + " (id int PRIMARY KEY, name text)");
        st.execute("INSERT INTO small" + i + " SELECT g, 'n' || g FROM generate_series(1, 1000) g");
      }
    }
  }

  private static void lap(String what, long t0) {
    System.out.println("LongTaskIT: " + what + " at " + (System.nanoTime() - t0) / 1_000_000 + " ms");
  }

  private static boolean isBig(CloudEvent e) {
    return e.data() != null && e.data().has("table") && !e.data().get("table").isNull()
        && "big".equals(e.data().get("table").get("name").asText());
  }

  /** The worker group's members (member id by client id), from the broker. */
  private static Map<String, String> members(String bootstrapServers) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers);
    try (Admin admin = Admin.create(p)) {
      return admin.describeConsumerGroups(List.of(Topics.WORKER_GROUP)).all().get(30, TimeUnit.SECONDS)
          .get(Topics.WORKER_GROUP).members().stream()
          .collect(Collectors.toMap(MemberDescription::clientId, MemberDescription::consumerId, (a, b) -> a,
              TreeMap::new));
    }
  }

  /** Rebalances each in-process worker's consumer has been through (the client's own count, over JMX). */
  private static Map<String, Double> rebalances() throws Exception {
    MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
    Map<String, Double> out = new TreeMap<>();
    for (ObjectName n : jmx.queryNames(new ObjectName("kafka.consumer:type=consumer-coordinator-metrics,*"),
        null)) {
      String client = n.getKeyProperty("client-id");
      if (client != null && client.startsWith("pgfleet-worker-")) {
        out.put(client, ((Number) jmx.getAttribute(n, "rebalance-total")).doubleValue());
      }
    }
    return out;
  }

  /**
   * Waits until both workers own task partitions and their consumers' rebalance counts have stayed the same for a
   * few seconds: a worker joining the group takes two cooperative rounds (revoke, then assign), and the second may
   * still be under way when the coordinator already leads.
   */
  private static Map<String, Double> awaitSettledGroup(String bootstrapServers) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    Map<String, Double> last = rebalances();
    while (true) {
      Thread.sleep(3000);
      Map<String, Double> now = rebalances();
      boolean spread;
      Properties p = new Properties();
      p.put("bootstrap.servers", bootstrapServers);
      try (Admin admin = Admin.create(p)) {
        spread = admin.describeConsumerGroups(List.of(Topics.WORKER_GROUP)).all().get(30, TimeUnit.SECONDS)
            .get(Topics.WORKER_GROUP).members().stream()
            .filter(m -> !m.assignment().topicPartitions().isEmpty()).count() == 2;
      }
      if (spread && now.equals(last)) {
        return now;
      }
      assertThat(System.currentTimeMillis()).as("the worker group to settle; rebalances " + now).isLessThan(deadline);
      last = now;
    }
  }

  /** The group's rebalances as they happen, in the test's output: why one happened, if one does. */
  private static void logGroupChanges(boolean on) {
    for (String name : List.of("io.pgfleet.worker.queue",
        "org.apache.kafka.clients.consumer.internals.ConsumerCoordinator",
        "org.apache.kafka.clients.consumer.internals.AbstractCoordinator")) {
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(name))
          .setLevel(on ? ch.qos.logback.classic.Level.INFO : null);
    }
  }

  @Test
  void aTaskManyTimesLongerThanTheGroupTimeoutsCausesNoRebalanceAndRunsOnce() throws Exception {
    Backends.assumeLocal(PG);
    String db = PG.uniqueDbName("longtask");
    fill(db);
    String restored = db + "_r";
    logGroupChanges(true);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      Path repo = dir.resolve("repo");
      // The watchdog would stop a task frozen this long: give it more time than the freeze.
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db, KAFKA, "",
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 1, metricsPort: -1, stallTimeout: 120s}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(2, "longtask-it"));
           Connection observer = PG.connect("postgres")) {
        OneDatabaseFleet.awaitLeader(fleet);
        Map<String, Double> rebalancesBefore = awaitSettledGroup(kafka.bootstrapServers());
        Map<String, String> membersBefore = members(kafka.bootstrapServers());
        assertThat(membersBefore).as("worker group members").hasSize(2);
        assertThat(rebalancesBefore).as("rebalance counts of the workers' consumers").hasSize(2);

        String runId = OneDatabaseFleet.backupNow(fleet, db);
        int pid = Backends.awaitCopy(observer, db, "big", Duration.ofSeconds(60));
        // The COPY stops for 35 s, more than five session timeouts and five poll intervals; the task goes on.
        Instant frozenAt = Instant.now();
        Backends.signal("STOP", pid);
        try {
          Thread.sleep(35_000);
        } finally {
          Backends.signal("CONT", pid);
        }
        Instant thawedAt = Instant.now();
        events.await("the run to end", Duration.ofSeconds(90), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
                || EventTypes.BACKUP_FAILED.equals(e.type()))));

        Map<String, String> membersAfter = members(kafka.bootstrapServers());
        Map<String, Double> rebalancesAfter = rebalances();
        System.out.println("LongTaskIT: froze the COPY of big from " + frozenAt + " to " + thawedAt
            + "; members before " + membersBefore + ", after " + membersAfter + "; rebalances before "
            + rebalancesBefore + ", after " + rebalancesAfter);
        assertThat(membersAfter).as("the same members, none dropped and rejoined").isEqualTo(membersBefore);
        assertThat(rebalancesAfter).as("no rebalance while the task ran").isEqualTo(rebalancesBefore);

        List<CloudEvent> run = events.matching(e -> runId.equals(e.runid()));
        assertThat(run).noneMatch(e -> EventTypes.BACKUP_FAILED.equals(e.type()));
        assertThat(run).noneMatch(e -> EventTypes.TASK_FAILED.equals(e.type()));
        Map<String, Long> starts = run.stream().filter(e -> EventTypes.TASK_STARTED.equals(e.type()))
            .collect(Collectors.groupingBy(CloudEvent::taskid, Collectors.counting()));
        assertThat(starts.values()).as("task.started per task").allMatch(n -> n == 1);
        CloudEvent bigStarted = run.stream().filter(e -> EventTypes.TASK_STARTED.equals(e.type()) && isBig(e))
            .findFirst().orElseThrow();
        CloudEvent bigCompleted = run.stream().filter(e -> EventTypes.TASK_COMPLETED.equals(e.type())
            && bigStarted.taskid().equals(e.taskid())).findFirst().orElseThrow();
        assertThat(run).filteredOn(e -> EventTypes.TASK_COMPLETED.equals(e.type())
            && bigStarted.taskid().equals(e.taskid())).hasSize(1);
        assertThat(Duration.between(bigStarted.time(), bigCompleted.time()))
            .as("the big table's task, from start to end").isGreaterThan(Duration.ofMillis(5L * SESSION_MS));
        assertThat(bigCompleted.dataAs(Payloads.TaskCompleted.class).worker())
            .isEqualTo(bigStarted.dataAs(Payloads.TaskStarted.class).worker());
      }
      OneDatabaseFleet.restoreLatestAndCompare(PG, repo, db, restored);
    } finally {
      logGroupChanges(false);
      PG.dropDatabase(restored);
      PG.dropDatabase(db);
    }
  }

  @Test
  void aWorkerKilledMidTaskHasItsTaskRedeliveredAfterTheSessionTimeout() throws Exception {
    long t0 = System.nanoTime();
    String db = PG.uniqueDbName("longtaskkill");
    fill(db);
    String restored = db + "_r";
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers());
         FleetProcesses workers = new FleetProcesses("LongTaskIT", Map.of())) {
      Path repo = dir.resolve("repo");
      for (String w : List.of("lt-worker-1", "lt-worker-2")) {
        Path file = dir.resolve(w + ".yaml");
        Files.writeString(file, OneDatabaseFleet.yaml(PG, dir, kafka.bootstrapServers(), repo, db, KAFKA, "",
            "worker: {id: " + w + ", slots: 1, metricsPort: -1}\n"));
        workers.start(w, "worker", "--config", file.toString());
      }
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), repo, db, KAFKA, "",
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n");
      try (FleetProcess coordinator = FleetProcess.start(config, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(0, "longtask-kill-it"))) {
        for (String w : List.of("lt-worker-1", "lt-worker-2")) {
          workers.awaitLog(w, "worker " + w + " started", Duration.ofSeconds(90));
        }
        OneDatabaseFleet.awaitLeader(coordinator);
        String runId = OneDatabaseFleet.backupNow(coordinator, db);
        events.await("the big table's task to start", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type()) && isBig(e)));
        CloudEvent first = events.matching(e -> runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type())
            && isBig(e)).get(0);
        String victim = first.dataAs(Payloads.TaskStarted.class).worker();
        workers.kill(victim);
        Instant killedAt = Instant.now();
        lap("killed " + victim, t0);

        events.await("the run to end", Duration.ofSeconds(90), evs -> evs.stream().anyMatch(e ->
            runId.equals(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
                || EventTypes.BACKUP_FAILED.equals(e.type()))));
        List<CloudEvent> run = events.matching(e -> runId.equals(e.runid()));
        assertThat(run).noneMatch(e -> EventTypes.BACKUP_FAILED.equals(e.type()));
        List<CloudEvent> bigStarts = run.stream().filter(e -> EventTypes.TASK_STARTED.equals(e.type())
            && first.taskid().equals(e.taskid())).toList();
        List<CloudEvent> bigCompletions = run.stream().filter(e -> EventTypes.TASK_COMPLETED.equals(e.type())
            && first.taskid().equals(e.taskid())).toList();
        assertThat(bigStarts).as("starts of the big table's task").hasSize(2);
        CloudEvent again = bigStarts.get(1);
        Payloads.TaskStarted firstStart = first.dataAs(Payloads.TaskStarted.class);
        Payloads.TaskStarted secondStart = again.dataAs(Payloads.TaskStarted.class);
        Duration redeliveredAfter = Duration.between(killedAt, again.time());
        System.out.println("LongTaskIT: killed " + victim + " at " + killedAt + "; the big table's task (attempt "
            + firstStart.attempt() + ", partition " + firstStart.partition() + ") started again on "
            + secondStart.worker() + " (attempt " + secondStart.attempt() + ", partition " + secondStart.partition()
            + ") " + redeliveredAfter.toMillis() + " ms later");
        assertThat(secondStart.worker()).isNotEqualTo(victim);
        // The same record of the same partition, delivered again by Kafka: not a new attempt by the coordinator.
        assertThat(secondStart.attempt()).isEqualTo(firstStart.attempt());
        assertThat(secondStart.partition()).isEqualTo(firstStart.partition());
        // The group notices the dead member after the session timeout, counted from its last heartbeat (sent every
        // session / 3): not before, and well before the coordinator's silence timeout would republish it.
        assertThat(redeliveredAfter).as("redelivery after the kill")
            .isGreaterThanOrEqualTo(Duration.ofMillis(SESSION_MS - SESSION_MS / 3 - 500))
            .isLessThan(Duration.ofMillis(SESSION_MS + 20_000));
        assertThat(bigCompletions).as("completions of the big table's task").hasSize(1);
        assertThat(bigCompletions.get(0).dataAs(Payloads.TaskCompleted.class).worker())
            .isEqualTo(secondStart.worker());
        Set<String> completedTasks = run.stream().filter(e -> EventTypes.TASK_COMPLETED.equals(e.type()))
            .map(CloudEvent::taskid).collect(Collectors.toSet());
        int tasks = run.stream().filter(e -> EventTypes.BACKUP_STARTED.equals(e.type())).findFirst().orElseThrow()
            .dataAs(Payloads.BackupStarted.class).tasks();
        assertThat(completedTasks).hasSize(tasks);
        lap("run checked", t0);
      }
      lap("coordinator stopped", t0);
      OneDatabaseFleet.restoreLatestAndCompare(PG, repo, db, restored);
      lap("restored and compared", t0);
    } finally {
      PG.dropDatabase(restored);
      PG.dropDatabase(db);
    }
  }
}
