package io.pgfleet.coordinator.restoretest;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.RestoreTestReport;
import io.pgfleet.common.storage.Storage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Queues a restore test after completed backups: of the databases {@code restoreTests.include} selects, one backup in
 * {@code sampleEvery} per database (counted in memory; the first after start is always tested), one test at a time,
 * each bounded by {@code restoreTests.timeout}. Writes each result into the backup's {@code verify/} folder, emits
 * {@code restore_test.passed} or {@code restore_test.failed}, and keeps the time of each database's last passed test
 * (also as the gauge {@value #GAUGE}, tagged cluster and database).
 *
 * <p>Confined to the Vert.x context it is called on; the tests themselves run on a one-thread worker pool.
 */
public final class RestoreTestScheduler {
  public static final String GAUGE = "pgfleet.restore_test.last_success";
  private static final Logger LOG = LoggerFactory.getLogger(RestoreTestScheduler.class);

  private final Vertx vertx;
  private final Storage storage;
  private final FleetConfig.RestoreTests config;
  private final RestoreTestExecutor executor;
  private final EventPublisher events;
  private final MeterRegistry registry;
  private final WorkerExecutor pool;
  private final Map<String, Integer> completed = new HashMap<>();
  private final Deque<Manifest> queue = new ArrayDeque<>();
  private final Map<String, Instant> lastPassed = new HashMap<>();
  private final Map<String, AtomicLong> gauges = new HashMap<>();
  private boolean running;
  private boolean closed;

  public RestoreTestScheduler(Vertx vertx, Storage storage, FleetConfig.RestoreTests config,
      RestoreTestExecutor executor, EventPublisher events, MeterRegistry registry, String instanceId) {
    this.vertx = vertx;
    this.storage = storage;
    this.config = config;
    this.executor = executor;
    this.events = events;
    this.registry = registry;
    this.pool = vertx.createSharedWorkerExecutor("pgfleet-restore-test-" + instanceId, 1, 365, TimeUnit.DAYS);
  }

  /** A backup completed: queues its restore test if its database is selected and its turn in the sample has come. */
  public void backupCompleted(Manifest m) {
    if (closed || !config.selects(m.cluster(), m.database()) || !sample(m.cluster() + "/" + m.database())) {
      return;
    }
    queue.addLast(m);
    LOG.info("restore test of backup {} of {}/{} queued ({} waiting)", m.backupId(), m.cluster(), m.database(),
        queue.size());
    next();
  }

  /** Counts a completed backup of a database; true for the 1st, (1+n)th, (1+2n)th... with n = sampleEvery. */
  boolean sample(String databaseKey) {
    int n = completed.merge(databaseKey, 1, Integer::sum);
    return (n - 1) % Math.max(1, config.sampleEvery()) == 0;
  }

  /** The time of the last passed restore test of a database, if this coordinator knows one. */
  public Optional<Instant> lastPassed(String cluster, String database) {
    return Optional.ofNullable(lastPassed.get(cluster + "/" + database));
  }

  /** Tests queued or running. */
  public int pending() {
    return queue.size() + (running ? 1 : 0);
  }

  /**
   * Rebuilds the last passed test per database after a take-over: from the events the history read
   * ({@code cluster/database} to time) and from the results in the repository, whichever is newer.
   */
  public Future<Void> rebuild(Map<String, Instant> fromEvents) {
    fromEvents.forEach(this::passed);
    return vertx.executeBlocking(() -> lastPassedInRepository(storage), false).map(found -> {
      found.forEach(this::passed);
      LOG.info("restore tests: last passed test known for {} database(s)", lastPassed.size());
      return null;
    });
  }

  /**
   * Per database, the finish time of its newest passed restore test in the repository: backups newest first, each
   * backup's results newest first, reading results only until one passed.
   */
  static Map<String, Instant> lastPassedInRepository(Storage storage) throws java.io.IOException {
    Map<String, List<String>> byBackup = RestoreTestReport.allKeys(storage);
    // Backup folders are cluster/database/id/: grouped per database, newest id first.
    Map<String, TreeMap<String, List<String>>> byDatabase = new HashMap<>();
    byBackup.forEach((folder, keys) -> {
      String[] parts = folder.split("/");
      byDatabase.computeIfAbsent(parts[0] + "/" + parts[1], d -> new TreeMap<>(java.util.Comparator.reverseOrder()))
          .put(parts[2], keys);
    });
    Map<String, Instant> out = new HashMap<>();
    Set<String> done = new HashSet<>();
    for (TreeMap<String, List<String>> backups : byDatabase.values()) {
      search:
      for (List<String> keys : backups.values()) {
        for (String key : keys) {
          RestoreTestReport r;
          try {
            r = RestoreTestReport.read(storage, key);
          } catch (Exception e) {
            LOG.warn("restore tests: skipping unreadable result {}: {}", key, e.toString());
            continue;
          }
          if (r.passed() && done.add(r.cluster() + "/" + r.database())) {
            out.put(r.cluster() + "/" + r.database(), r.finishedAt());
            break search;
          }
        }
      }
    }
    return out;
  }

  public void close() {
    closed = true;
    queue.clear();
    pool.close();
  }

  private void next() {
    if (running || closed || queue.isEmpty()) {
      return;
    }
    Manifest m = queue.poll();
    running = true;
    List<String> assertions = config.assertionsFor(m.cluster(), m.database());
    LOG.info("restore test of backup {} of {}/{}: starting", m.backupId(), m.cluster(), m.database());
    pool.<Done>executeBlocking(() -> {
      RestoreTestReport r = executor.test(m, assertions, config.timeout());
      return new Done(r, r.write(storage));
    }, false).onComplete(ar -> {
      running = false;
      if (ar.succeeded()) {
        report(m, ar.result());
      } else {
        String why = ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage();
        LOG.error("restore test of backup {} of {}/{} could not run: {}", m.backupId(), m.cluster(), m.database(),
            why);
        events.publish(EventTypes.RESTORE_TEST_FAILED, m.cluster(), m.database(), null, m.backupId(), null,
            new Payloads.RestoreTestFailed(m.backupId(), List.of("restore test could not run: "
                + why.replaceAll("\\s*\\R\\s*", " ")), null));
      }
      next();
    });
  }

  private record Done(RestoreTestReport report, String key) {}

  private void report(Manifest m, Done d) {
    RestoreTestReport r = d.report();
    if (r.passed()) {
      LOG.info("restore test of backup {} of {}/{}: passed, {} tables, {} rows in {} ms ({})", m.backupId(),
          m.cluster(), m.database(), r.tables().size(), r.rowsChecked(), r.durationMillis(), d.key());
      passed(m.cluster() + "/" + m.database(), r.finishedAt());
      events.publish(EventTypes.RESTORE_TEST_PASSED, m.cluster(), m.database(), null, m.backupId(), null,
          new Payloads.RestoreTestPassed(m.backupId(), r.tables().size(), r.rowsChecked(), r.durationMillis(),
              d.key()));
    } else {
      LOG.error("restore test of backup {} of {}/{}: FAILED: {} ({})", m.backupId(), m.cluster(), m.database(),
          String.join("; ", r.failures()), d.key());
      events.publish(EventTypes.RESTORE_TEST_FAILED, m.cluster(), m.database(), null, m.backupId(), null,
          new Payloads.RestoreTestFailed(m.backupId(), r.failures(), d.key()));
    }
  }

  private void passed(String databaseKey, Instant at) {
    Instant known = lastPassed.get(databaseKey);
    if (known != null && !at.isAfter(known)) {
      return;
    }
    lastPassed.put(databaseKey, at);
    gauges.computeIfAbsent(databaseKey, k -> {
      AtomicLong v = new AtomicLong();
      int slash = k.indexOf('/');
      Gauge.builder(GAUGE, v, AtomicLong::get)
          .description("Epoch seconds of the last passed restore test of the database")
          .tags("cluster", k.substring(0, slash), "database", k.substring(slash + 1))
          .register(registry);
      return v;
    }).set(at.getEpochSecond());
  }
}
