package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.FleetProcesses;
import io.pgfleet.it.support.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Scenario 12 of issue 9, load: 200 small databases backed up in one wave by a coordinator process with a bounded
 * heap and three worker processes (separate JVMs from the built distribution, as in {@link FleetIT}). Every database
 * ends with exactly one completed backup (each with its manifest, listed by {@code pgfleet list}), no run fails, no
 * task runs twice, no snapshot session is left, sampled databases restore equal to their sources, and the
 * coordinator's heap stays bounded.
 *
 * <p>The heap figure that means something is the heap still in use after a collection: the used heap sampled at
 * any moment is mostly garbage waiting for the next young collection, and its peak only says where the collector
 * chose to run. So the coordinator logs every collection ({@code -Xlog:gc}, with the heap before and after it); the
 * test reports the highest after-collection figure of the wave (with the serial collector this includes
 * old-generation garbage not yet collected, so it is an upper bound of the live data), and the live set measured by
 * full collections ({@code jcmd GC.run}, twice in a row) before, every 10 s during, and after the wave. It also
 * samples {@code /metrics} ({@code jvm_memory_used_bytes{area="heap"}} summed over the pools) every second, for
 * comparison. The numbers go to the test output and to {@code target/load-report.txt}; docs/RELIABILITY.md ("Load")
 * has them from several runs.
 */
class LoadIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final int DATABASES = 200;
  private static final String PREFIX = "loadit_";
  /** Outside the {@code loadit_*} pattern, so the wave does not back up the template. */
  private static final String TEMPLATE = "pgfleet_loadit_template";
  private static final String CLUSTER = "load";
  private static final int WORKERS = 3;
  private static final int SLOTS = 3;
  private static final int MAX_RUNS = 6;
  private static final int MAX_TASKS = WORKERS * SLOTS;
  private static final String COORDINATOR_HEAP = "-Xmx256m";
  /** Highest heap in use after any collection during the wave (young ones, and the forced full ones). */
  private static final long AFTER_GC_BOUND = 64L << 20;
  /** Growth of a process's live set (full collections after the wave minus before it). */
  private static final long LIVE_GROWTH_BOUND = 16L << 20;
  /**
   * The serial collector's full collection may leave up to 5 % of the old generation as dead objects in place
   * (filled with int arrays that nothing references) rather than move the live ones behind them: on a 247 MiB heap
   * up to 8 MiB of garbage counted as live, seen on one worker in several runs. Without it the live set is the live
   * set.
   */
  private static final String MEASURABLE_GC = "-XX:MarkSweepDeadRatio=0";
  /** How often the live set is measured during the wave (two full collections of a 20 MiB heap, 30-640 ms each). */
  private static final int FULL_GC_EVERY_SECONDS = 10;
  private static final String TOKEN = "load-it-token-" + Long.toHexString(System.nanoTime());
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static final List<String> DBS = new ArrayList<>();
  private static EmbeddedKafka kafka;
  private static EventLog events;
  private static FleetProcesses fleet;
  private static Path dir;
  private static Path repo;
  private static Path gcLog;
  private static int apiPort;

  @BeforeAll
  static void setUp() throws Exception {
    for (int i = 0; i < DATABASES; i++) {
      DBS.add(String.format(Locale.ROOT, "%s%03d", PREFIX, i));
    }
    kafka = EmbeddedKafka.start();
    events = new EventLog(kafka.bootstrapServers());
    dir = Files.createTempDirectory("pgfleet-load-it-");
    repo = dir.resolve("repo");
    Files.writeString(dir.resolve("fleet.yaml"), config());
    Map<String, String> env = new HashMap<>();
    env.put("LOAD_IT_TOKEN", TOKEN);
    PG.password().ifPresent(p -> env.put("LOAD_IT_PG_PASSWORD", p));
    fleet = new FleetProcesses("LoadIT", env);
    gcLog = fleet.logDir().resolve("coordinator-gc.log").toAbsolutePath();
    Files.deleteIfExists(gcLog);
    // The processes boot while the databases are created: both take seconds, on different processes.
    fleet.start("coordinator", List.of(COORDINATOR_HEAP, MEASURABLE_GC, "-Xlog:gc:file=" + gcLog + ":utctime"),
        "coordinator", "--config", dir.resolve("fleet.yaml").toString(), "--instance-id", "coordinator");
    for (int i = 1; i <= WORKERS; i++) {
      // Their collections are logged too, to tell a GC pause from a blocked event loop in their logs.
      Files.deleteIfExists(workerGcLog(i));
      fleet.start("worker-" + i, List.of(MEASURABLE_GC, "-Xlog:gc:file=" + workerGcLog(i) + ":utctime"), "worker",
          "--config", dir.resolve("fleet.yaml").toString());
    }
    long t0 = System.nanoTime();
    createDatabases();
    System.out.printf(Locale.ROOT, "LoadIT: %d databases created in %.1f s%n", DATABASES,
        (System.nanoTime() - t0) / 1e9);
    apiPort = fleet.apiPort("coordinator", Duration.ofSeconds(90));
  }

  private static String config() {
    String password = PG.password().isPresent() ? "    password: {env: LOAD_IT_PG_PASSWORD}\n" : "";
    // Worker ids come from the process (one configuration file for the whole fleet, as a deployment would have).
    return "kafka:\n"
        + "  bootstrapServers: \"" + kafka.bootstrapServers() + "\"\n"
        // 2-4x the fleet's slots (ARCHITECTURE.md): idle partitions for every slot, and some to spare.
        + "  taskPartitions: " + (3 * WORKERS * SLOTS) + "\n"
        + "repository:\n"
        + "  url: " + repo + "\n"
        + "clusters:\n"
        + "  - name: " + CLUSTER + "\n"
        + "    host: " + PG.host() + "\n"
        + "    port: " + PG.port() + "\n"
        + "    user: " + PG.user() + "\n"
        + password
        + "    databases: {include: [\"" + PREFIX + "*\"]}\n"
        + "    limits: {maxRuns: " + MAX_RUNS + ", maxTasks: " + MAX_TASKS + "}\n"
        + "coordinator:\n"
        + "  http: {host: 127.0.0.1, port: 0}\n"
        + "  apiToken: {env: LOAD_IT_TOKEN}\n"
        + "  startTimeout: 60s\n"
        + "worker:\n"
        + "  slots: " + SLOTS + "\n"
        + "  metricsPort: -1\n";
  }

  /**
   * One template with three small tables (100 rows each, a foreign key, an index, a sequence), copied 200 times:
   * {@code CREATE DATABASE ... TEMPLATE} takes milliseconds where filling each database would take seconds.
   */
  private static void createDatabases() throws Exception {
    dropDatabases();
    PG.createDatabase(TEMPLATE);
    try (Connection c = PG.connect(TEMPLATE); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text)");
      st.execute("INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com'"
          + " FROM generate_series(1, 100) g");
      st.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL REFERENCES customers,"
          + " total numeric(10,2), placed date)");
      st.execute("INSERT INTO orders SELECT g, 1 + g % 100, g * 1.25, date '2026-01-01' + g"
          + " FROM generate_series(1, 100) g");
      st.execute("CREATE INDEX orders_customer ON orders (customer)");
      st.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)");
      st.execute("INSERT INTO notes (body) SELECT repeat('n', g % 40) FROM generate_series(1, 100) g");
    }
    onEach(DBS, 4, db -> {
      try (Connection c = PG.connect("postgres"); Statement st = c.createStatement()) {
        st.execute("CREATE DATABASE " + db + " TEMPLATE " + TEMPLATE);
      }
    });
  }

  /**
   * Drops the 200 databases, then the template. Many at once: each drop waits for a checkpoint, and drops waiting
   * together share one.
   */
  private static void dropDatabases() throws Exception {
    onEach(DBS, 16, PG::dropDatabase);
    PG.dropDatabase(TEMPLATE);
  }

  private interface DatabaseAction {
    void apply(String db) throws Exception;
  }

  private static void onEach(List<String> dbs, int threads, DatabaseAction action) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> all = new ArrayList<>();
      for (String db : dbs) {
        all.add(pool.submit(() -> {
          action.apply(db);
          return null;
        }));
      }
      for (Future<?> f : all) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @AfterAll
  static void tearDown() throws Exception {
    try {
      if (fleet != null) {
        fleet.close();
      }
      if (events != null) {
        events.close();
      }
      if (kafka != null) {
        kafka.close();
      }
    } finally {
      long t0 = System.nanoTime();
      dropDatabases();
      System.out.printf(Locale.ROOT, "LoadIT: databases dropped in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  @Test
  void twoHundredSmallDatabasesInOneWaveAllCompleteAndTheCoordinatorsHeapStaysBounded() throws Exception {
    awaitLeader(Duration.ofSeconds(90));
    awaitWorkers(Duration.ofSeconds(60));
    long pid = fleet.pid("coordinator");
    GcLine liveBefore = fullGc(pid);
    List<GcLine> workersBefore = new ArrayList<>();
    for (int i = 1; i <= WORKERS; i++) {
      workersBefore.add(fullGc(fleet.pid("worker-" + i), workerGcLog(i)));
    }
    HeapSampler sampler = new HeapSampler(pid);
    sampler.start();
    double cpuBefore = cpuSeconds(pid);

    // The wave: every database at once (what a scheduled wave queues after listing the cluster's databases).
    Instant waveStart = Instant.now();
    Map<String, String> runOf = new HashMap<>();
    List<Long> postMillis = new ArrayList<>();
    for (String db : DBS) {
      long t = System.nanoTime();
      String body = send("POST", "/api/v1/clusters/" + CLUSTER + "/databases/" + db + "/backups").body();
      postMillis.add((System.nanoTime() - t) / 1_000_000);
      runOf.put(Json.MAPPER.readTree(body).get("runId").asText(), db);
    }
    postMillis.sort(Comparator.naturalOrder());
    Instant queued = Instant.now();
    Set<String> runs = runOf.keySet();
    assertThat(runs).hasSize(DATABASES);
    try {
      events.await("all " + DATABASES + " runs to end", Duration.ofMinutes(5), evs -> ended(evs, runs).size()
          == DATABASES);
    } finally {
      sampler.stop();
    }
    List<CloudEvent> all = events.all();
    Instant waveEnd = of(all, runs, EventTypes.BACKUP_COMPLETED).stream().map(CloudEvent::time)
        .max(Comparator.naturalOrder()).orElse(Instant.now());
    double coordinatorCpu = cpuSeconds(pid) - cpuBefore;
    GcLine liveAfter = fullGc(pid);
    List<CloudEvent> starts = of(all, runs, EventTypes.TASK_STARTED);
    List<CloudEvent> taskEnds = of(all, runs, EventTypes.TASK_COMPLETED);
    int peakTasks = EventLog.maxOverlap(intervals(all, runs, EventTypes.TASK_STARTED, EventTypes.TASK_COMPLETED, true));
    int peakRuns = EventLog.maxOverlap(intervals(all, runs, EventTypes.BACKUP_STARTED, EventTypes.BACKUP_COMPLETED, false));
    Duration longestGap = longestGap(starts);

    // The workers' live sets, once their idle sessions (kept 3 s for the next task of a run) are closed; what they
    // hold is in a class histogram next to their logs.
    Thread.sleep(Math.max(0, 3500 - Duration.between(waveEnd, Instant.now()).toMillis()));
    List<GcLine> workersAfter = new ArrayList<>();
    for (int i = 1; i <= WORKERS; i++) {
      workersAfter.add(fullGc(fleet.pid("worker-" + i), workerGcLog(i)));
      Files.writeString(fleet.logDir().resolve("worker-" + i + "-histogram.txt"),
          jcmd(fleet.pid("worker-" + i), "GC.class_histogram"));
    }

    // The coordinator's heap.
    List<GcLine> gcs = gcLines();
    List<GcLine> inWave = gcs.stream().filter(g -> !g.at().isBefore(waveStart) && !g.at().isAfter(waveEnd))
        .toList();
    long peakAfterGc = inWave.stream().mapToLong(GcLine::after).max().orElse(liveBefore.after());
    long peakLive = Math.max(liveAfter.after(), sampler.peakLive());
    long young = inWave.stream().filter(g -> g.what().startsWith("Pause Young")).count();
    long peakAfterGcEver = gcs.stream().mapToLong(GcLine::after).max().orElse(0);
    double seconds = Duration.between(waveStart, waveEnd).toMillis() / 1000.0;
    String report = String.format(Locale.ROOT, ""
        + "pgfleet LoadIT (issue 9, scenario 12), %s%n"
        + "machine: %d CPUs, %s %s, Java %s, PostgreSQL at %s:%d%n"
        + "fleet: 1 coordinator (%s, SerialGC), %d workers x %d slots, cluster limits maxRuns %d maxTasks %d,"
        + " %d task partitions%n"
        + "databases: %d (3 tables x 100 rows, FK, index, sequence)%n"
        + "wave: %d runs queued in %.1f s (back up now, one POST each: median %d ms, max %d ms);"
        + " all ended %.1f s after the first was queued%n"
        + "tasks: %d (%.1f tasks/s, %.2f databases/s); peak %d tasks running, peak %d runs in flight;"
        + " longest pause between two task starts %.1f s%n"
        + "coordinator heap after GC: peak %.1f MiB during the wave (%d collections in the wave, %d of them young),"
        + " %.1f MiB over its life%n"
        + "coordinator live set (full GC by jcmd): %.1f MiB before the wave, peak %.1f MiB during it (%d full GCs,"
        + " one every %d s), %.1f MiB after it (heap capacity %.1f MiB)%n"
        + "coordinator heap sampled from /metrics every 1 s (includes garbage): peak %.1f MiB used,"
        + " %d samples%n"
        + "coordinator CPU during the wave: %.1f s (%.1f ms per database)%n"
        + "workers' live sets (full GC by jcmd), before -> after the wave: %s%n",
        Instant.now(), Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
        System.getProperty("os.arch"), System.getProperty("java.version"), PG.host(), PG.port(), COORDINATOR_HEAP,
        WORKERS, SLOTS, MAX_RUNS, MAX_TASKS, 3 * WORKERS * SLOTS, DATABASES, DATABASES,
        Duration.between(waveStart, queued).toMillis() / 1000.0, postMillis.get(postMillis.size() / 2),
        postMillis.get(postMillis.size() - 1), seconds, taskEnds.size(), taskEnds.size() / seconds,
        DATABASES / seconds, peakTasks, peakRuns, longestGap.toMillis() / 1000.0, mib(peakAfterGc), inWave.size(),
        young, mib(peakAfterGcEver), mib(liveBefore.after()), mib(peakLive), sampler.fullGcs(),
        FULL_GC_EVERY_SECONDS, mib(liveAfter.after()), mib(liveAfter.committed()),
        mib(sampler.peak()), sampler.samples(), coordinatorCpu, coordinatorCpu * 1000 / DATABASES,
        java.util.stream.IntStream.range(0, WORKERS).mapToObj(i -> String.format(Locale.ROOT, "%.1f -> %.1f MiB",
            mib(workersBefore.get(i).after()), mib(workersAfter.get(i).after()))).collect(Collectors.joining(", ")));
    System.out.print(report);
    Files.writeString(Path.of("target", "load-report.txt"), report, StandardCharsets.UTF_8);

    // Every database completed once; nothing failed.
    assertThat(of(all, runs, EventTypes.BACKUP_FAILED)).as("failed runs in the wave").isEmpty();
    List<CloudEvent> completed = of(all, runs, EventTypes.BACKUP_COMPLETED);
    assertThat(completed.stream().map(CloudEvent::subject).collect(Collectors.toSet()))
        .as("databases with a completed backup")
        .isEqualTo(DBS.stream().map(db -> CLUSTER + "/" + db).collect(Collectors.toSet()));
    assertThat(completed).hasSize(DATABASES);

    // No task ran twice, let alone twice at once.
    Map<String, Long> startsPerTask = starts.stream()
        .collect(Collectors.groupingBy(CloudEvent::taskid, Collectors.counting()));
    assertThat(startsPerTask.values()).as("task.started per task").allMatch(n -> n == 1);
    assertThat(taskEnds.stream().map(CloudEvent::taskid).collect(Collectors.toSet())).as("tasks completed")
        .isEqualTo(startsPerTask.keySet());
    assertThat(of(all, runs, EventTypes.TASK_FAILED)).as("failed tasks").isEmpty();
    Set<String> workers = starts.stream().map(e -> e.data().get("worker").asText()).collect(Collectors.toSet());
    assertThat(workers).as("workers that took tasks").hasSize(WORKERS);
    assertThat(peakTasks).as("tasks running at once").isBetween(1, MAX_TASKS);
    assertThat(peakRuns).as("runs in flight at once").isBetween(1, MAX_RUNS);

    // The repository lists 200 whole backups.
    Cli.Result list = Cli.run("list", "--repo", repo.toString());
    assertThat(list.exitCode()).as(list.err()).isZero();
    Set<String> listed = list.out().lines().map(l -> l.trim().split("\\s+")).filter(f -> f.length > 2
        && f[1].equals(CLUSTER)).map(f -> f[2]).collect(Collectors.toCollection(TreeSet::new));
    assertThat(list.out().lines().filter(l -> l.contains(" " + CLUSTER + " "))).hasSize(DATABASES);
    assertThat(listed).isEqualTo(new TreeSet<>(DBS));
    assertEveryBackupFolderIsWhole();

    awaitNoSnapshotSessions();
    assertThat(fleet.log("coordinator")).as("the coordinator's event loop was never blocked")
        .doesNotContain("has been blocked for");

    for (String db : List.of(DBS.get(0), DBS.get(DATABASES / 2 + 17), DBS.get(DATABASES - 1))) {
      restoreAndCompare(db);
    }

    assertThat(sampler.samples()).as("heap samples from /metrics").isGreaterThan(5);
    assertThat(sampler.fullGcs()).as("full GCs during the wave").isGreaterThanOrEqualTo(2);
    assertThat(peakAfterGc).as("the coordinator's peak heap after GC during the wave").isLessThan(AFTER_GC_BOUND);
    assertThat(liveAfter.after() - liveBefore.after()).as("growth of the coordinator's live set over the wave")
        .isLessThan(LIVE_GROWTH_BOUND);
    for (int i = 0; i < WORKERS; i++) {
      assertThat(workersAfter.get(i).after() - workersBefore.get(i).after())
          .as("growth of worker-" + (i + 1) + "'s live set over the wave").isLessThan(LIVE_GROWTH_BOUND);
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  /** User and system CPU time of a process (Linux: /proc/PID/stat, in clock ticks of 10 ms); NaN elsewhere. */
  private static double cpuSeconds(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    } catch (Exception e) {
      return Double.NaN;
    }
  }

  private static double mib(long bytes) {
    return bytes / 1048576.0;
  }

  /** A collection as the coordinator logged it: when, and the heap used before and after it, and committed. */
  private record GcLine(Instant at, String what, long before, long after, long committed) {}

  private static final Pattern GC = Pattern.compile(
      "^\\[([^\\]]+)\\] GC\\(\\d+\\) (Pause .*) (\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\) [\\d.]+ms$");
  private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ");

  private static Path workerGcLog(int i) {
    return fleet.logDir().resolve("worker-" + i + "-gc.log").toAbsolutePath();
  }

  private static List<GcLine> gcLines() throws Exception {
    return gcLines(gcLog);
  }

  private static List<GcLine> gcLines(Path log) throws Exception {
    List<GcLine> out = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      Matcher m = GC.matcher(line.trim());
      if (m.matches()) {
        out.add(new GcLine(OffsetDateTime.parse(m.group(1), UTC_TIME).toInstant(), m.group(2),
            bytes(m.group(3), m.group(4)), bytes(m.group(5), m.group(6)), bytes(m.group(7), m.group(8))));
      }
    }
    return out;
  }

  private static long bytes(String n, String unit) {
    return Long.parseLong(n) << switch (unit) {
      case "K" -> 10;
      case "M" -> 20;
      default -> 30;
    };
  }

  /** Asks the coordinator for full collections ({@code jcmd GC.run}) and returns the last one's GC log line. */
  private static GcLine fullGc(long pid) throws Exception {
    return fullGc(pid, gcLog);
  }

  /**
   * Two full collections back to back; the second one's figure is the live set. Objects that need finalization or
   * a cleaner survive the first: on a worker after the wave, one collection left 33 MiB and the next 17 MiB.
   */
  private static GcLine fullGc(long pid, Path log) throws Exception {
    fullGcOnce(pid, log);
    return fullGcOnce(pid, log);
  }

  private static GcLine fullGcOnce(long pid, Path log) throws Exception {
    int known = gcLines(log).size();
    String out = jcmd(pid, "GC.run");
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      List<GcLine> now = gcLines(log);
      for (GcLine g : now.subList(Math.min(known, now.size()), now.size())) {
        if (g.what().startsWith("Pause Full")) {
          return g;
        }
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("no full collection in " + log + " after jcmd GC.run: " + out);
      }
      Thread.sleep(100);
    }
  }

  private static String jcmd(long pid, String command) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
        Long.toString(pid), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("jcmd " + pid + " " + command + ": " + out).isZero();
    return out;
  }

  /**
   * Scrapes the coordinator's /metrics every second and keeps the highest heap in use (all heap pools), and
   * measures its live set with a full collection every {@link #FULL_GC_EVERY_SECONDS} seconds.
   */
  private static final class HeapSampler {
    private final Thread thread = new Thread(this::run, "load-it-heap-sampler");
    private final long pid;
    private volatile boolean stop;
    private volatile long peak;
    private volatile int samples;
    private volatile long peakLive;
    private volatile int fullGcs;

    HeapSampler(long pid) {
      this.pid = pid;
    }

    long peakLive() {
      return peakLive;
    }

    int fullGcs() {
      return fullGcs;
    }

    void start() {
      thread.setDaemon(true);
      thread.start();
    }

    void stop() throws InterruptedException {
      stop = true;
      thread.join(5000);
    }

    long peak() {
      return peak;
    }

    int samples() {
      return samples;
    }

    private void run() {
      Pattern used = Pattern.compile("^jvm_memory_used_bytes\\{(?=[^}]*area=\"heap\")[^}]*} (\\S+)$");
      while (!stop) {
        try {
          String text = send("GET", "/metrics").body();
          long sum = 0;
          for (String line : text.split("\n")) {
            Matcher m = used.matcher(line);
            if (m.matches()) {
              sum += (long) Double.parseDouble(m.group(1));
            }
          }
          peak = Math.max(peak, sum);
          samples++;
          if (samples % FULL_GC_EVERY_SECONDS == 0) {
            peakLive = Math.max(peakLive, fullGc(pid).after());
            fullGcs++;
          }
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        } catch (Exception | AssertionError e) {
          System.out.println("LoadIT: cannot measure the coordinator's heap: " + e);
          try {
            Thread.sleep(1000);
          } catch (InterruptedException x) {
            return;
          }
        }
      }
    }
  }

  private static Set<String> ended(List<CloudEvent> evs, Set<String> runs) {
    return evs.stream().filter(e -> runs.contains(e.runid()) && (EventTypes.BACKUP_COMPLETED.equals(e.type())
        || EventTypes.BACKUP_FAILED.equals(e.type()))).map(CloudEvent::runid).collect(Collectors.toSet());
  }

  private static List<CloudEvent> of(List<CloudEvent> evs, Set<String> runs, String type) {
    return evs.stream().filter(e -> runs.contains(e.runid()) && type.equals(e.type())).toList();
  }

  /** Start and end of each task ({@code byTask}) or run that ended, from the events' times. */
  private static List<Instant[]> intervals(List<CloudEvent> evs, Set<String> runs, String start, String end,
      boolean byTask) {
    Map<String, Instant> ends = new HashMap<>();
    for (CloudEvent e : of(evs, runs, end)) {
      ends.putIfAbsent(byTask ? e.taskid() : e.runid(), e.time());
    }
    List<Instant[]> out = new ArrayList<>();
    for (CloudEvent e : of(evs, runs, start)) {
      Instant to = ends.get(byTask ? e.taskid() : e.runid());
      if (to != null) { // one that never ended fails the test by the assertions on completions
        out.add(new Instant[] {e.time(), to});
      }
    }
    return out;
  }

  /** The longest time between two consecutive task starts: an admission stall would show here. */
  private static Duration longestGap(List<CloudEvent> starts) {
    List<Instant> times = starts.stream().map(CloudEvent::time).sorted().toList();
    Duration max = Duration.ZERO;
    for (int i = 1; i < times.size(); i++) {
      Duration d = Duration.between(times.get(i - 1), times.get(i));
      if (d.compareTo(max) > 0) {
        max = d;
      }
    }
    return max;
  }

  /** Every backup folder has its manifest, and every object the manifest names is there. */
  private static void assertEveryBackupFolderIsWhole() throws Exception {
    Map<Path, Set<String>> byBackup = new HashMap<>();
    try (Stream<Path> s = Files.walk(repo)) {
      for (Path f : s.filter(Files::isRegularFile).toList()) {
        Path rel = repo.relativize(f);
        assertThat(rel.getNameCount()).as("depth of " + rel).isGreaterThanOrEqualTo(4);
        byBackup.computeIfAbsent(rel.subpath(0, 3), k -> new TreeSet<>())
            .add(rel.subpath(3, rel.getNameCount()).toString());
      }
    }
    assertThat(byBackup).as("backup folders").hasSize(DATABASES);
    Set<String> databases = new HashSet<>();
    for (Map.Entry<Path, Set<String>> b : byBackup.entrySet()) {
      Path manifest = repo.resolve(b.getKey()).resolve("manifest.json");
      assertThat(manifest).as("manifest of " + b.getKey() + " holding " + b.getValue()).exists();
      Manifest m = Json.read(Files.readAllBytes(manifest), Manifest.class);
      Set<String> named = new TreeSet<>();
      named.add("manifest.json");
      named.add(m.restoreGuideKey());
      m.artifacts().forEach(a -> named.add(a.key()));
      assertThat(b.getValue()).as("objects of backup " + b.getKey()).isEqualTo(named);
      assertThat(m.tableCount()).as("tables of " + m.database()).isEqualTo(3);
      assertThat(m.totalRows()).as("rows of " + m.database()).isEqualTo(300);
      databases.add(m.database());
    }
    assertThat(databases).hasSize(DATABASES);
  }

  private static void awaitNoSnapshotSessions() throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (true) {
      try (Connection c = PG.connect("postgres"); Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name ="
               + " 'pgfleet-snapshot-holder' AND datname LIKE '" + PREFIX + "%'")) {
        rs.next();
        if (rs.getInt(1) == 0) {
          return;
        }
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError(rs.getInt(1) + " snapshot holder session(s) still open");
        }
      }
      Thread.sleep(500);
    }
  }

  private static void restoreAndCompare(String db) throws Exception {
    Manifest found = null;
    try (Stream<Path> s = Files.walk(repo)) {
      for (Path p : s.filter(p -> p.getFileName().toString().equals("manifest.json")).toList()) {
        Manifest m = Json.read(Files.readAllBytes(p), Manifest.class);
        if (m.database().equals(db)) {
          found = m;
        }
      }
    }
    assertThat(found).as("the backup of " + db).isNotNull();
    String target = db + "_r";
    PG.dropDatabase(target);
    try {
      Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", found.backupId(), "--target",
          PG.url(target));
      assertThat(r.exitCode()).as("restore of " + db + ": " + r.err()).isZero();
      DatabaseComparison.compare(PG, db, target).assertEqual();
    } finally {
      PG.dropDatabase(target);
    }
  }

  private static void awaitLeader(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      HttpResponse<String> r = send("GET", "/ready");
      if (r.statusCode() == 200 && Json.MAPPER.readTree(r.body()).get("role").asText().equals("leader")) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the coordinator did not become leader: " + r.body() + "\n"
            + fleet.tail("coordinator"));
      }
      Thread.sleep(250);
    }
  }

  /** Until the leader hears every worker, so the wave spreads over all three from its first run. */
  private static void awaitWorkers(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    Pattern live = Pattern.compile("(?m)^pgfleet_workers_live (\\S+)$");
    while (true) {
      Matcher m = live.matcher(send("GET", "/metrics").body());
      if (m.find() && Double.parseDouble(m.group(1)) >= WORKERS) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the coordinator did not hear " + WORKERS + " workers within "
            + timeout.toSeconds() + " s");
      }
      Thread.sleep(250);
    }
  }

  private static HttpResponse<String> send(String method, String path) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
        .header("Authorization", "Bearer " + TOKEN).method(method, HttpRequest.BodyPublishers.noBody()).build();
    HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    if (method.equals("POST")) {
      assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(202);
    }
    return r;
  }
}
