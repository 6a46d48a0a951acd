package io.pgfleet.coordinator.fleet;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.metrics.MetricNames;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * The coordinator's meters in Micrometer's global registry: per database (cluster, database) the last completed
 * backup's time, duration and size; over the fleet the runs by outcome, runs in flight and queued, leadership,
 * live workers, idle slots and the task queue's depth. Values are written on the coordinator's context and read by
 * scrapes from any thread.
 */
final class FleetMetrics {
  private static final FleetMetrics INSTANCE = new FleetMetrics();

  /** One per process (one coordinator per process; tests that start several in one JVM share it). */
  static FleetMetrics get() {
    return INSTANCE;
  }

  private final MeterRegistry registry = Metrics.globalRegistry;
  private final Map<String, double[]> perDatabase = new ConcurrentHashMap<>();
  private volatile double runsInFlight;
  private volatile double runsQueued;
  private volatile double leader;
  private volatile double workersLive;
  private volatile double slotsIdle;
  private volatile double queueDepth = Double.NaN;

  private FleetMetrics() {
    gauge(MetricNames.RUNS_IN_FLIGHT, m -> m.runsInFlight, "Runs holding a snapshot now");
    gauge(MetricNames.RUNS_QUEUED, m -> m.runsQueued, "Runs waiting for admission");
    gauge(MetricNames.LEADER, m -> m.leader, "1 when this coordinator leads, else 0");
    gauge(MetricNames.WORKERS_LIVE, m -> m.workersLive, "Workers heard from in the last 15 s");
    gauge(MetricNames.SLOTS_IDLE, m -> m.slotsIdle, "Task slots of live workers with nothing running or queued");
    gauge(MetricNames.TASK_QUEUE_DEPTH, m -> m.queueDepth,
        "Tasks published and not yet taken (consumer lag of pgfleet.tasks for the workers' group)");
  }

  private void gauge(String name, ToDoubleFunction<FleetMetrics> f, String help) {
    Gauge.builder(name, this, f).description(help).strongReference(true).register(registry);
  }

  /** A completed backup: the database's gauges move to it. */
  void backupCompleted(Manifest m) {
    double[] v = perDatabase.computeIfAbsent(m.cluster() + "/" + m.database(), k -> register(m.cluster(),
        m.database()));
    v[0] = m.finishedAt().toEpochMilli() / 1000.0;
    v[1] = Duration.between(m.startedAt(), m.finishedAt()).toMillis() / 1000.0;
    v[2] = m.totalBytes();
  }

  private double[] register(String cluster, String database) {
    double[] v = new double[] {Double.NaN, Double.NaN, Double.NaN};
    Gauge.builder(MetricNames.BACKUP_LAST_SUCCESS, v, a -> a[0]).baseUnit("seconds")
        .description("When the database's last completed backup finished (Unix time)")
        .tags("cluster", cluster, "database", database).strongReference(true).register(registry);
    Gauge.builder(MetricNames.BACKUP_LAST_DURATION, v, a -> a[1]).baseUnit("seconds")
        .description("How long the database's last completed backup took")
        .tags("cluster", cluster, "database", database).strongReference(true).register(registry);
    Gauge.builder(MetricNames.BACKUP_LAST_SIZE, v, a -> a[2]).baseUnit("bytes")
        .description("Bytes stored by the database's last completed backup")
        .tags("cluster", cluster, "database", database).strongReference(true).register(registry);
    return v;
  }

  void runEnded(String cluster, boolean completed) {
    registry.counter(MetricNames.RUNS, "cluster", cluster, "outcome", completed ? "completed" : "failed").increment();
  }

  void fleet(int inFlight, int queued, boolean leads, int workers, int idle) {
    runsInFlight = inFlight;
    runsQueued = queued;
    leader = leads ? 1 : 0;
    workersLive = workers;
    slotsIdle = idle;
  }

  void queueDepth(long depth) {
    queueDepth = depth;
  }
}
