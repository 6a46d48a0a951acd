package io.pgfleet.common.metrics;

import java.util.List;

/**
 * Every metric pgfleet exports, by its Micrometer name, with the name Prometheus shows and its labels. The deploy
 * files (alert rules, the Grafana board) may only use names listed here, and a test scrapes a running fleet to
 * check each of them is really exported. Labels are bounded: cluster and database (the fleet's databases),
 * worker (one per worker process), kind and outcome (a handful of values), webhook and backend (configuration).
 */
public final class MetricNames {
  private MetricNames() {}

  /** One exported metric. */
  public record Metric(String micrometer, String prometheus, String type, List<String> labels, String help) {}

  // Coordinator, per database.
  public static final String BACKUP_LAST_SUCCESS = "pgfleet.backup.last.success.timestamp";
  public static final String BACKUP_LAST_DURATION = "pgfleet.backup.last.duration";
  public static final String BACKUP_LAST_SIZE = "pgfleet.backup.last.size";
  public static final String RESTORE_TEST_LAST_SUCCESS = "pgfleet.restore_test.last_success";
  // Coordinator, fleet-wide.
  public static final String RUNS = "pgfleet.runs";
  public static final String RUNS_IN_FLIGHT = "pgfleet.runs.in.flight";
  public static final String RUNS_QUEUED = "pgfleet.runs.queued";
  public static final String LEADER = "pgfleet.coordinator.leader";
  public static final String WORKERS_LIVE = "pgfleet.workers.live";
  public static final String SLOTS_IDLE = "pgfleet.workers.slots.idle";
  public static final String TASK_QUEUE_DEPTH = "pgfleet.tasks.queue.depth";
  public static final String RETENTION_DELETED = "pgfleet.retention.deleted";
  public static final String ALERTS_SENT = "pgfleet.alerts.sent";
  public static final String STORAGE_RETRIES = "pgfleet.storage.retries";
  public static final String STORAGE_CIRCUIT_OPEN = "pgfleet.storage.circuit.open";
  // Worker.
  public static final String WORKER_SLOTS = "pgfleet.worker.slots";
  public static final String WORKER_BUSY = "pgfleet.worker.busy";
  public static final String WORKER_TASKS = "pgfleet.worker.tasks";
  public static final String WORKER_ROWS = "pgfleet.worker.rows";
  public static final String WORKER_BYTES = "pgfleet.worker.bytes";

  public static final List<Metric> ALL = List.of(
      new Metric(BACKUP_LAST_SUCCESS, "pgfleet_backup_last_success_timestamp_seconds", "gauge",
          List.of("cluster", "database"), "When the database's last completed backup finished (Unix time)"),
      new Metric(BACKUP_LAST_DURATION, "pgfleet_backup_last_duration_seconds", "gauge",
          List.of("cluster", "database"), "How long the database's last completed backup took"),
      new Metric(BACKUP_LAST_SIZE, "pgfleet_backup_last_size_bytes", "gauge", List.of("cluster", "database"),
          "Bytes stored by the database's last completed backup"),
      new Metric(RESTORE_TEST_LAST_SUCCESS, "pgfleet_restore_test_last_success", "gauge",
          List.of("cluster", "database"), "When the database's last passed restore test ended (Unix time)"),
      new Metric(RUNS, "pgfleet_runs_total", "counter", List.of("cluster", "outcome"),
          "Runs ended, by outcome (completed, failed)"),
      new Metric(RUNS_IN_FLIGHT, "pgfleet_runs_in_flight", "gauge", List.of(), "Runs holding a snapshot now"),
      new Metric(RUNS_QUEUED, "pgfleet_runs_queued", "gauge", List.of(), "Runs waiting for admission"),
      new Metric(LEADER, "pgfleet_coordinator_leader", "gauge", List.of(),
          "1 when this coordinator leads (schedules and runs backups), else 0"),
      new Metric(WORKERS_LIVE, "pgfleet_workers_live", "gauge", List.of(), "Workers heard from in the last 15 s"),
      new Metric(SLOTS_IDLE, "pgfleet_workers_slots_idle", "gauge", List.of(),
          "Task slots of live workers with nothing running or queued"),
      new Metric(TASK_QUEUE_DEPTH, "pgfleet_tasks_queue_depth", "gauge", List.of(),
          "Tasks published and not yet taken: the consumer lag of pgfleet.tasks for the workers' group"),
      new Metric(RETENTION_DELETED, "pgfleet_retention_deleted_total", "counter", List.of("cluster"),
          "Backups deleted by retention"),
      new Metric(ALERTS_SENT, "pgfleet_alerts_sent_total", "counter", List.of("webhook", "kind", "status"),
          "Alert messages a webhook accepted"),
      new Metric(STORAGE_RETRIES, "pgfleet_storage_retries_total", "counter", List.of("backend"),
          "Storage operations retried after a transient error"),
      new Metric(STORAGE_CIRCUIT_OPEN, "pgfleet_storage_circuit_open", "gauge", List.of("backend"),
          "Repositories of the backend whose circuit is open or probing (calls fail at once): 0 when all answer"),
      new Metric(WORKER_SLOTS, "pgfleet_worker_slots", "gauge", List.of("worker"), "The worker's task slots"),
      new Metric(WORKER_BUSY, "pgfleet_worker_busy", "gauge", List.of("worker"), "The worker's slots running a task"),
      new Metric(WORKER_TASKS, "pgfleet_worker_tasks_total", "counter", List.of("worker", "kind", "outcome"),
          "Tasks ended on the worker, by kind and outcome (completed, failed)"),
      new Metric(WORKER_ROWS, "pgfleet_worker_rows_total", "counter", List.of("worker"), "Rows dumped"),
      new Metric(WORKER_BYTES, "pgfleet_worker_bytes_total", "counter", List.of("worker"),
          "COPY text bytes dumped (before compression)"));
}
