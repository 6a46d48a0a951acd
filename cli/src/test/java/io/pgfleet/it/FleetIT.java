package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.FleetProcesses;
import io.pgfleet.it.support.PgServers;
import io.pgfleet.it.support.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The fleet as it is deployed: one coordinator process and three worker processes (separate JVMs from the built
 * distribution) against a Kafka broker, backing up 30 databases on two PostgreSQL servers (the machine's and a
 * PostgreSQL 13 started by the test). One scheduled wave backs up all 30 within each cluster's limits; a worker
 * killed mid-COPY has its task finished elsewhere; a coordinator killed mid-wave is replaced, and every database
 * still ends with a backup or an explicit failure, with no snapshot session left on the servers.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetIT {
  private static final TestPostgres A = TestPostgres.get();
  private static final String TOKEN = "fleet-it-token-" + Long.toHexString(System.nanoTime());
  private static final int A_MAX_RUNS = 2;
  private static final int A_MAX_TASKS = 3;
  private static final int B_MAX_RUNS = 1;
  private static final int B_MAX_TASKS = 2;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static PgServers servers;
  private static TestPostgres b;
  private static EmbeddedKafka kafka;
  private static EventLog events;
  private static FleetProcesses fleet;
  private static Path dir;
  private static Path repo;
  private static String prefix;
  private static final List<String> A_DBS = new ArrayList<>();
  private static final List<String> B_DBS = new ArrayList<>();
  private static String bigDb;
  private static int apiPort;
  private static Instant waveAt;

  @BeforeAll
  static void setUp() throws Exception {
    prefix = A.uniqueDbName("fleetit");
    servers = new PgServers();
    b = servers.start(13);
    for (int i = 1; i <= 15; i++) {
      A_DBS.add(String.format("%s_a_%02d", prefix, i));
      B_DBS.add(String.format("%s_b_%02d", prefix, i));
    }
    bigDb = A_DBS.get(0);
    for (String db : A_DBS) {
      fill(A, db, db.equals(bigDb));
    }
    for (String db : B_DBS) {
      fill(b, db, false);
    }
    kafka = EmbeddedKafka.start();
    events = new EventLog(kafka.bootstrapServers());
    dir = Files.createTempDirectory("pgfleet-fleet-it-");
    repo = dir.resolve("repo");
    // One wave at a chosen minute (at least 40 s from now, so every process is up before it fires).
    ZonedDateTime fire = ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(40).truncatedTo(ChronoUnit.MINUTES)
        .plusMinutes(1);
    waveAt = fire.toInstant();
    String cron = fire.getMinute() + " " + fire.getHour() + " " + fire.getDayOfMonth() + " " + fire.getMonthValue()
        + " *";
    Files.writeString(dir.resolve("coordinator.yaml"), config(cron, null));
    for (int i = 1; i <= 4; i++) {
      Files.writeString(dir.resolve("worker-" + i + ".yaml"), config(cron, "worker-" + i));
    }
    Map<String, String> env = new HashMap<>();
    env.put("FLEET_IT_TOKEN", TOKEN);
    A.password().ifPresent(p -> env.put("FLEET_IT_PG_A_PASSWORD", p));
    fleet = new FleetProcesses("FleetIT", env);
    startCoordinator("coordinator-1");
    for (int i = 1; i <= 3; i++) {
      // worker-2 logs JSON lines, the others text.
      fleet.start("worker-" + i, "worker", "--config", dir.resolve("worker-" + i + ".yaml").toString(),
          "--log-format", i == 2 ? "json" : "text");
    }
  }

  /** Starts a coordinator process and returns its API port. */
  private static int startCoordinator(String name) throws Exception {
    fleet.start(name, "coordinator", "--config", dir.resolve("coordinator.yaml").toString(),
        "--silence-timeout", "15", "--leader-session-timeout", "6", "--instance-id", name);
    int port = fleet.apiPort(name, Duration.ofSeconds(90));
    if (apiPort == 0) {
      apiPort = port;
    }
    return port;
  }

  private static String config(String cron, String workerId) {
    String aPassword = A.password().isPresent() ? "    password: {env: FLEET_IT_PG_A_PASSWORD}\n" : "";
    return "kafka:\n"
        + "  bootstrapServers: \"" + kafka.bootstrapServers() + "\"\n"
        + "  taskPartitions: 24\n"
        + "repository:\n"
        + "  url: " + repo + "\n"
        + "clusters:\n"
        + "  - name: tenant-a\n"
        + "    host: " + A.host() + "\n"
        + "    port: " + A.port() + "\n"
        + "    user: " + A.user() + "\n"
        + aPassword
        + "    databases: {include: [\"" + prefix + "_a_*\"]}\n"
        + "    schedule: {cron: \"" + cron + "\", timeZone: UTC}\n"
        + "    limits: {maxRuns: " + A_MAX_RUNS + ", maxTasks: " + A_MAX_TASKS + "}\n"
        + "  - name: tenant-b\n"
        + "    host: " + b.host() + "\n"
        + "    port: " + b.port() + "\n"
        + "    user: " + b.user() + "\n"
        + "    databases: {include: [\"" + prefix + "_b_*\"]}\n"
        + "    schedule: {cron: \"" + cron + "\", timeZone: UTC}\n"
        + "    limits: {maxRuns: " + B_MAX_RUNS + ", maxTasks: " + B_MAX_TASKS + "}\n"
        + "coordinator:\n"
        + "  http: {host: 127.0.0.1, port: 0}\n"
        + "  apiToken: {env: FLEET_IT_TOKEN}\n"
        + "  startTimeout: 60s\n"
        + "worker:\n"
        + (workerId == null ? "" : "  id: " + workerId + "\n")
        + "  slots: 2\n"
        + "  metricsPort: 0\n";
  }

  private static void fill(TestPostgres pg, String db, boolean big) throws Exception {
    pg.createDatabase(db);
    try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int)");
      st.execute("INSERT INTO items SELECT g, 'item ' || g, g % 7 FROM generate_series(1, 2000) g");
      st.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)");
      st.execute("INSERT INTO notes (body) SELECT repeat('n', g % 50) FROM generate_series(1, 300) g");
      st.execute("CREATE SCHEMA billing");
      st.execute("CREATE TABLE billing.invoices (id bigint PRIMARY KEY, item int REFERENCES items, amount numeric)");
      st.execute("INSERT INTO billing.invoices SELECT g, 1 + g % 2000, g * 1.5 FROM generate_series(1, 500) g");
      if (big) {
        // Large enough that its COPY takes seconds: the worker dumping it is killed mid-task.
        st.execute("CREATE TABLE big (id bigint, payload text)");
        st.execute("INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 3000000) g");
        st.execute("ANALYZE big");
      }
    }
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
    if (events != null) {
      events.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    for (String db : A_DBS) {
      A.dropDatabase(db);
    }
    if (servers != null) {
      servers.close();
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void oneScheduledWaveBacksUpAllThirtyDatabasesWithinEachClustersLimits() throws Exception {
    awaitLeader(Duration.ofSeconds(60));
    // Every worker announces itself before the wave, so the first runs spread over all three.
    events.await("the scheduled wave of 30 databases to complete", Duration.between(Instant.now(), waveAt)
        .plusMinutes(4), evs -> completedRuns(runsScheduledBy(evs, "schedule"), evs).size() == 30);
    List<CloudEvent> all = events.all();
    Set<String> runs = runsScheduledBy(all, "schedule");
    assertThat(runs).hasSize(30);
    Set<String> dbs = all.stream().filter(e -> runs.contains(e.runid())
        && EventTypes.BACKUP_SCHEDULED.equals(e.type())).map(CloudEvent::subject).collect(Collectors.toSet());
    Set<String> expected = new HashSet<>();
    A_DBS.forEach(db -> expected.add("tenant-a/" + db));
    B_DBS.forEach(db -> expected.add("tenant-b/" + db));
    assertThat(dbs).as("one scheduled run per database").isEqualTo(expected);
    assertThat(of(all, runs, EventTypes.BACKUP_FAILED)).as("failures in the wave").isEmpty();
    assertThat(of(all, runs, EventTypes.BACKUP_STARTED)).hasSize(30);
    assertThat(of(all, runs, EventTypes.BACKUP_COMPLETED)).hasSize(30);

    // Every task was taken by exactly one worker, once.
    Map<String, Long> startsPerTask = of(all, runs, EventTypes.TASK_STARTED).stream()
        .collect(Collectors.groupingBy(CloudEvent::taskid, Collectors.counting()));
    assertThat(startsPerTask).isNotEmpty();
    assertThat(startsPerTask.values()).as("task.started per task").allMatch(n -> n == 1);
    Set<String> workers = of(all, runs, EventTypes.TASK_STARTED).stream()
        .map(e -> e.data().get("worker").asText()).collect(Collectors.toSet());
    assertThat(workers).as("workers that took tasks").containsExactlyInAnyOrder("worker-1", "worker-2", "worker-3");

    // Per-cluster limits, from the recorded start and end times.
    assertThat(maxConcurrentTasks(all, runs, "tenant-a")).as("tasks of tenant-a at once").isBetween(1, A_MAX_TASKS);
    assertThat(maxConcurrentTasks(all, runs, "tenant-b")).as("tasks of tenant-b at once").isBetween(1, B_MAX_TASKS);
    assertThat(maxConcurrentRuns(all, runs, "tenant-a")).as("runs of tenant-a at once").isBetween(1, A_MAX_RUNS);
    assertThat(maxConcurrentRuns(all, runs, "tenant-b")).as("runs of tenant-b at once").isBetween(1, B_MAX_RUNS);
    // Clusters take turns: tenant-b's first run starts before tenant-a is a third done, and the other way round.
    assertThat(nthEvent(all, runs, EventTypes.BACKUP_STARTED, "tenant-b", 1))
        .isBefore(nthEvent(all, runs, EventTypes.BACKUP_COMPLETED, "tenant-a", 5));
    assertThat(nthEvent(all, runs, EventTypes.BACKUP_STARTED, "tenant-a", 1))
        .isBefore(nthEvent(all, runs, EventTypes.BACKUP_COMPLETED, "tenant-b", 5));

    // The API shows every database with its last backup, and the wave's runs with their tasks' progress.
    JsonNode dbsA = get("/api/v1/clusters/tenant-a/databases");
    assertThat(dbsA).hasSize(15);
    dbsA.forEach(d -> assertThat(d.get("lastBackup").isNull()).as("last backup of " + d.get("name")).isFalse());
    JsonNode recent = get("/api/v1/runs?limit=100");
    JsonNode bigRun = Stream.of(recent).flatMap(n -> java.util.stream.StreamSupport.stream(n.spliterator(), false))
        .filter(r -> r.get("database").asText().equals(bigDb)).findFirst().orElseThrow();
    assertThat(bigRun.get("state").asText()).isEqualTo("COMPLETED");
    assertThat(bigRun.get("progress").get("rows").asLong()).isGreaterThanOrEqualTo(3_000_000L);
    assertThat(bigRun.get("tasks").size()).isGreaterThanOrEqualTo(5);

    assertRepositoryHoldsOnlyWholeBackups();
    assertThat(manifests()).hasSize(30);
    assertMetricsAfterTheWave();
    assertLogsCarryIdsAndNoSecret();
    restoreAndCompare(A, "tenant-a", A_DBS.get(1));
    restoreAndCompare(b, "tenant-b", B_DBS.get(1));

    // The API's restore action: the newest backup of a tenant-b database into a new database of tenant-b.
    String db = B_DBS.get(2);
    String backupId = get("/api/v1/clusters/tenant-b/databases/" + db + "/backups").get(0).get("backupId").asText();
    String target = db + "_api";
    b.dropDatabase(target);
    try {
      JsonNode job = post("/api/v1/clusters/tenant-b/databases/" + db + "/backups/" + backupId + "/restore",
          "{\"targetCluster\": \"tenant-b\", \"targetDatabase\": \"" + target + "\", \"jobs\": 2}");
      String path = "/api/v1/restores/" + job.get("jobId").asText();
      long deadline = System.currentTimeMillis() + 60_000;
      while (get(path).get("state").asText().equals("RUNNING") && System.currentTimeMillis() < deadline) {
        Thread.sleep(200);
      }
      JsonNode done = get(path);
      assertThat(done.get("state").asText()).as("restore job " + done).isEqualTo("COMPLETED");
      assertThat(done.get("rows").asLong()).isEqualTo(2000 + 300 + 500);
      DatabaseComparison.compare(b, db, target).assertEqual();
    } finally {
      b.dropDatabase(target);
    }
  }

  @Test
  @Order(2)
  void aWorkerKilledMidTaskHasItsTaskFinishedElsewhereAndANewWorkerTakesWorkAtOnce() throws Exception {
    String runId = post("/api/v1/clusters/tenant-a/databases/" + bigDb + "/backups").get("runId").asText();
    events.await("the big table's task to start", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
        runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type()) && isBigTable(e)));
    CloudEvent started = events.matching(e -> runId.equals(e.runid()) && EventTypes.TASK_STARTED.equals(e.type())
        && isBigTable(e)).get(0);
    String victim = started.data().get("worker").asText();
    fleet.kill(victim);
    Instant killedAt = Instant.now();
    fleet.start("worker-4", "worker", "--config", dir.resolve("worker-4.yaml").toString());

    events.await("the run with the killed worker's task to complete", Duration.ofSeconds(150), evs -> evs.stream()
        .anyMatch(e -> runId.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type())));
    List<CloudEvent> all = events.all();
    assertThat(all).noneMatch(e -> runId.equals(e.runid()) && EventTypes.BACKUP_FAILED.equals(e.type()));
    List<CloudEvent> bigDone = all.stream().filter(e -> runId.equals(e.runid()) && e.taskid() != null
        && e.taskid().equals(started.taskid()) && EventTypes.TASK_COMPLETED.equals(e.type())).toList();
    assertThat(bigDone).as("completions of the big table's task").isNotEmpty();
    assertThat(bigDone).allMatch(e -> !victim.equals(e.data().get("worker").asText()));

    // A worker added now takes work at once: back up tenant-b, whose tasks go to idle slots first.
    fleet.awaitLog("worker-4", "worker worker-4 started", Duration.ofSeconds(60));
    Thread.sleep(3000); // a heartbeat or two, so the coordinator knows the new worker's partitions
    List<String> bRuns = new ArrayList<>();
    for (String db : B_DBS.subList(0, 6)) {
      bRuns.add(post("/api/v1/clusters/tenant-b/databases/" + db + "/backups").get("runId").asText());
    }
    events.await("six tenant-b runs to complete", Duration.ofSeconds(120), evs -> bRuns.stream().allMatch(r ->
        evs.stream().anyMatch(e -> r.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type()))));
    assertThat(events.matching(e -> bRuns.contains(e.runid()) && EventTypes.TASK_STARTED.equals(e.type())))
        .as("tasks taken by the worker started after the kill at " + killedAt)
        .anyMatch(e -> "worker-4".equals(e.data().get("worker").asText()));

    assertRepositoryHoldsOnlyWholeBackups();
    restoreAndCompare(A, "tenant-a", bigDb);
  }

  @Test
  @Order(3)
  void aCoordinatorKilledMidWaveIsReplacedAndEveryDatabaseEndsWithABackupOrAnExplicitFailure() throws Exception {
    int standbyPort = startCoordinator("coordinator-2");
    long standbyDeadline = System.currentTimeMillis() + 30_000;
    while (!readiness(standbyPort).get("role").asText().equals("standby")
        && System.currentTimeMillis() < standbyDeadline) {
      Thread.sleep(200);
    }
    Instant t0 = Instant.now();
    List<String> all30 = new ArrayList<>();
    A_DBS.forEach(db -> all30.add("tenant-a/" + db));
    B_DBS.forEach(db -> all30.add("tenant-b/" + db));
    // The big database first: its run is certainly in flight when the coordinator dies.
    for (String key : all30) {
      String[] cd = key.split("/");
      post("/api/v1/clusters/" + cd[0] + "/databases/" + cd[1] + "/backups");
    }
    events.await("the big database's run to start", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
        EventTypes.BACKUP_STARTED.equals(e.type()) && e.time().isAfter(t0)
            && ("tenant-a/" + bigDb).equals(e.subject())));
    // A second coordinator stands by while the first leads: it answers, but does not schedule.
    assertThat(readiness(standbyPort).get("role").asText()).isEqualTo("standby");
    HttpResponse<String> refused = send(standbyPort, "POST", "/api/v1/clusters/tenant-a/databases/" + bigDb
        + "/backups", null);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
    assertThat(refused.body()).contains("not the leader");
    fleet.kill("coordinator-1");
    List<CloudEvent> before = events.all();
    Set<String> openAtKill = new HashSet<>();
    for (CloudEvent e : before) {
      if (EventTypes.BACKUP_STARTED.equals(e.type()) && e.time().isAfter(t0)) {
        openAtKill.add(e.runid());
      }
    }
    before.stream().filter(e -> EventTypes.BACKUP_COMPLETED.equals(e.type()) || EventTypes.BACKUP_FAILED.equals(
        e.type())).forEach(e -> openAtKill.remove(e.runid()));
    assertThat(openAtKill).as("runs in flight when the coordinator was killed").isNotEmpty();

    apiPort = standbyPort;
    awaitLeader(Duration.ofSeconds(60));
    // Runs the dead coordinator had queued run under its successor, those it had started are failed and retried:
    // so every database ends with a completed backup.
    events.await("every database to end with a completed backup", Duration.ofMinutes(4), evs ->
        all30.stream().allMatch(db -> evs.stream().anyMatch(e -> db.equals(e.subject())
            && EventTypes.BACKUP_COMPLETED.equals(e.type()) && e.time().isAfter(t0))));
    List<CloudEvent> after = events.all();
    // The runs the dead coordinator had in flight were ended explicitly by its successor.
    for (String run : openAtKill) {
      assertThat(after).as("end of run " + run).anyMatch(e -> run.equals(e.runid())
          && (EventTypes.BACKUP_FAILED.equals(e.type()) || EventTypes.BACKUP_COMPLETED.equals(e.type())));
    }
    assertThat(after).anyMatch(e -> EventTypes.BACKUP_FAILED.equals(e.type()) && openAtKill.contains(e.runid())
        && e.data().get("reason").asText().contains("stopped before it ended"));
    // Every run started since t0 has ended one way or the other.
    for (CloudEvent s : after) {
      if (EventTypes.BACKUP_STARTED.equals(s.type()) && s.time().isAfter(t0)) {
        assertThat(after).as("end of run " + s.runid() + " of " + s.subject()).anyMatch(e -> s.runid().equals(
            e.runid()) && (EventTypes.BACKUP_FAILED.equals(e.type()) || EventTypes.BACKUP_COMPLETED.equals(e.type())));
      }
    }
    // No snapshot session is left on either server, and no partial backup in the repository.
    awaitNoSnapshotSessions(A);
    awaitNoSnapshotSessions(b);
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        assertRepositoryHoldsOnlyWholeBackups();
        break;
      } catch (AssertionError e) {
        if (System.currentTimeMillis() > deadline) {
          throw e;
        }
        Thread.sleep(1000);
      }
    }
    restoreAndCompare(A, "tenant-a", bigDb);
  }

  // ------------------------------------------------------------------------------------------------------------

  private static boolean isBigTable(CloudEvent e) {
    JsonNode t = e.data().get("table");
    return t != null && !t.isNull() && "big".equals(t.get("name").asText());
  }

  private static Set<String> runsScheduledBy(List<CloudEvent> evs, String trigger) {
    return evs.stream().filter(e -> EventTypes.BACKUP_SCHEDULED.equals(e.type())
        && trigger.equals(e.data().get("trigger").asText())).map(CloudEvent::runid).collect(Collectors.toSet());
  }

  private static Set<String> completedRuns(Set<String> runs, List<CloudEvent> evs) {
    return evs.stream().filter(e -> runs.contains(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type()))
        .map(CloudEvent::runid).collect(Collectors.toSet());
  }

  private static List<CloudEvent> of(List<CloudEvent> evs, Set<String> runs, String type) {
    return evs.stream().filter(e -> runs.contains(e.runid()) && type.equals(e.type())).toList();
  }

  private static String cluster(CloudEvent e) {
    return e.subject().substring(0, e.subject().indexOf('/'));
  }

  private static int maxConcurrentTasks(List<CloudEvent> evs, Set<String> runs, String cluster) {
    Map<String, Instant> ends = new HashMap<>();
    for (CloudEvent e : evs) {
      if (runs.contains(e.runid()) && (EventTypes.TASK_COMPLETED.equals(e.type())
          || EventTypes.TASK_FAILED.equals(e.type()))) {
        ends.putIfAbsent(e.taskid(), e.time());
      }
    }
    List<Instant[]> intervals = new ArrayList<>();
    for (CloudEvent e : evs) {
      if (runs.contains(e.runid()) && EventTypes.TASK_STARTED.equals(e.type()) && cluster.equals(cluster(e))) {
        intervals.add(new Instant[] {e.time(), ends.get(e.taskid())});
      }
    }
    assertThat(intervals).allMatch(i -> i[1] != null);
    return EventLog.maxOverlap(intervals);
  }

  private static int maxConcurrentRuns(List<CloudEvent> evs, Set<String> runs, String cluster) {
    Map<String, Instant> ends = new HashMap<>();
    for (CloudEvent e : evs) {
      if (runs.contains(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type())) {
        ends.put(e.runid(), e.time());
      }
    }
    List<Instant[]> intervals = new ArrayList<>();
    for (CloudEvent e : evs) {
      if (runs.contains(e.runid()) && EventTypes.BACKUP_STARTED.equals(e.type()) && cluster.equals(cluster(e))) {
        intervals.add(new Instant[] {e.time(), ends.get(e.runid())});
      }
    }
    return EventLog.maxOverlap(intervals);
  }

  /**
   * Prometheus scrapes of the coordinator and a worker: the per-database last-success gauge holds the backup's
   * finish time, the counters moved, and no metric carries a label that grows without end.
   */
  private static void assertMetricsAfterTheWave() throws Exception {
    String coordinator = send(apiPort, "GET", "/metrics", null).body();
    Manifest m = null;
    for (Path p : manifests()) {
      Manifest x = Json.read(Files.readAllBytes(p), Manifest.class);
      if (x.database().equals(A_DBS.get(3))) {
        m = x;
      }
    }
    assertThat(m).isNotNull();
    java.util.regex.Matcher g = java.util.regex.Pattern.compile("pgfleet_backup_last_success_timestamp_seconds\\{"
        + "cluster=\"tenant-a\",database=\"" + A_DBS.get(3) + "\"} (\\S+)").matcher(coordinator);
    assertThat(g.find()).as("the last-success gauge of " + A_DBS.get(3) + " in\n" + coordinator).isTrue();
    assertThat(Double.parseDouble(g.group(1))).isCloseTo(m.finishedAt().toEpochMilli() / 1000.0,
        org.assertj.core.data.Offset.offset(0.01));
    assertThat(metric(coordinator, "pgfleet_runs_total{cluster=\"tenant-a\",outcome=\"completed\"}"))
        .isGreaterThanOrEqualTo(15);
    assertThat(metric(coordinator, "pgfleet_coordinator_leader")).isEqualTo(1);
    assertThat(metric(coordinator, "pgfleet_workers_live")).isEqualTo(3);
    int workerPort = fleet.metricsPort("worker-1", Duration.ofSeconds(5));
    String worker = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + workerPort + "/metrics"))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metric(worker, "pgfleet_worker_slots{worker=\"worker-1\"}")).isEqualTo(2);
    assertThat(worker).containsPattern("pgfleet_worker_tasks_total\\{kind=\"table-data\",outcome=\"completed\","
        + "worker=\"worker-1\"} [1-9]");
    assertThat(worker).containsPattern("pgfleet_worker_rows_total\\{worker=\"worker-1\"} [1-9]");
    assertThat(worker).contains("vertx_");
    for (String text : List.of(coordinator, worker)) {
      text.lines().filter(l -> l.startsWith("pgfleet_")).forEach(l -> assertThat(l)
          .as("bounded labels").doesNotContain("run=").doesNotContain("task=").doesNotContain("backup=")
          .doesNotContain("table="));
      for (var known : io.pgfleet.common.metrics.MetricNames.ALL) {
        text.lines().filter(l -> l.startsWith(known.prometheus() + "{")).forEach(l -> {
          for (String label : l.substring(l.indexOf('{') + 1, l.indexOf('}')).split(",")) {
            assertThat(known.labels()).as(l).contains(label.substring(0, label.indexOf('=')));
          }
        });
      }
    }
  }

  /**
   * A worker logging JSON gives each task's lines the run, task, cluster and database ids; no process logged the API
   * token or the database password.
   */
  private static void assertLogsCarryIdsAndNoSecret() throws Exception {
    List<JsonNode> json = new ArrayList<>();
    for (String line : fleet.log("worker-2").split("\n")) {
      if (line.startsWith("{")) {
        json.add(Json.MAPPER.readTree(line));
      }
    }
    assertThat(json).as("JSON log lines of worker-2").isNotEmpty();
    assertThat(json).anyMatch(n -> n.path("mdc").has("run") && n.path("mdc").has("task")
        && n.path("mdc").path("cluster").asText().startsWith("tenant-") && n.path("mdc").has("database"));
    for (String p : List.of("coordinator-1", "worker-1", "worker-2", "worker-3")) {
      String text = fleet.log(p);
      assertThat(text).as("log of " + p).doesNotContain(TOKEN);
      A.password().ifPresent(pw -> assertThat(text).as("log of " + p).doesNotContain(pw));
    }
  }

  private static double metric(String text, String series) {
    return text.lines().filter(l -> l.startsWith(series + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
        .orElseThrow(() -> new AssertionError("no " + series + " in\n" + text));
  }

  private static Instant nthEvent(List<CloudEvent> evs, Set<String> runs, String type, String cluster, int n) {
    List<Instant> times = evs.stream().filter(e -> runs.contains(e.runid()) && type.equals(e.type())
        && cluster.equals(cluster(e))).map(CloudEvent::time).sorted().toList();
    assertThat(times.size()).as(type + " events of " + cluster).isGreaterThanOrEqualTo(n);
    return times.get(n - 1);
  }

  private static JsonNode readiness(int port) throws Exception {
    return Json.MAPPER.readTree(send(port, "GET", "/ready", null).body());
  }

  private static void awaitLeader(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      HttpResponse<String> r = send(apiPort, "GET", "/ready", null);
      if (r.statusCode() == 200 && Json.MAPPER.readTree(r.body()).get("role").asText().equals("leader")) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the coordinator did not become leader: " + r.body());
      }
      Thread.sleep(250);
    }
  }

  private static HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Authorization", "Bearer " + TOKEN)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      req.header("Content-Type", "application/json");
    }
    return HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode get(String path) throws Exception {
    HttpResponse<String> r = send(apiPort, "GET", path, null);
    assertThat(r.statusCode()).as("GET " + path + ": " + r.body()).isEqualTo(200);
    return Json.MAPPER.readTree(r.body());
  }

  private static JsonNode post(String path) throws Exception {
    return post(path, null);
  }

  private static JsonNode post(String path, String body) throws Exception {
    HttpResponse<String> r = send(apiPort, "POST", path, body);
    assertThat(r.statusCode()).as("POST " + path + ": " + r.body()).isEqualTo(202);
    return Json.MAPPER.readTree(r.body());
  }

  private static List<Path> manifests() throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals("manifest.json")).toList();
    }
  }

  /**
   * Every folder of a backup has a manifest, and holds nothing the manifest does not name: no half-written object
   * of a killed worker, no artifact of a duplicate execution, no folder of a run that did not finish.
   */
  private static void assertRepositoryHoldsOnlyWholeBackups() throws Exception {
    Map<Path, List<Path>> byBackup = new HashMap<>();
    try (Stream<Path> s = Files.walk(repo)) {
      for (Path f : s.filter(Files::isRegularFile).toList()) {
        Path rel = repo.relativize(f);
        assertThat(rel.getNameCount()).as("depth of " + rel).isGreaterThanOrEqualTo(4);
        byBackup.computeIfAbsent(rel.subpath(0, 3), k -> new ArrayList<>()).add(rel.subpath(3, rel.getNameCount()));
      }
    }
    for (Map.Entry<Path, List<Path>> b : byBackup.entrySet()) {
      Path manifest = repo.resolve(b.getKey()).resolve("manifest.json");
      assertThat(manifest).as("manifest of " + b.getKey() + " holding " + b.getValue()).exists();
      Manifest m = Json.read(Files.readAllBytes(manifest), Manifest.class);
      Set<String> named = new TreeSet<>();
      named.add("manifest.json");
      named.add(m.restoreGuideKey());
      m.artifacts().forEach(a -> named.add(a.key()));
      Set<String> present = b.getValue().stream().map(p -> p.toString().replace('\\', '/'))
          .collect(Collectors.toCollection(TreeSet::new));
      assertThat(present).as("objects of backup " + b.getKey()).isEqualTo(named);
    }
  }

  private static void awaitNoSnapshotSessions(TestPostgres pg) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name ="
               + " 'pgfleet-snapshot-holder' AND datname LIKE '" + prefix + "%'")) {
        rs.next();
        if (rs.getInt(1) == 0) {
          return;
        }
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError(rs.getInt(1) + " snapshot holder session(s) still open on " + pg);
        }
      }
      Thread.sleep(500);
    }
  }

  private static void restoreAndCompare(TestPostgres pg, String cluster, String db) throws Exception {
    Manifest newest = null;
    for (Path p : manifests()) {
      Manifest m = Json.read(Files.readAllBytes(p), Manifest.class);
      if (m.cluster().equals(cluster) && m.database().equals(db)
          && (newest == null || m.backupId().compareTo(newest.backupId()) > 0)) {
        newest = m;
      }
    }
    assertThat(newest).as("a backup of " + cluster + "/" + db).isNotNull();
    String target = db + "_r";
    pg.dropDatabase(target);
    try {
      Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", newest.backupId(), "--target",
          pg.url(target));
      assertThat(r.exitCode()).as("restore: " + r.err()).isZero();
      DatabaseComparison.compare(pg, db, target).assertEqual();
    } finally {
      pg.dropDatabase(target);
    }
  }
}
