package io.pgfleet.coordinator.api;

import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What the HTTP API reads from and asks of the fleet coordinator. Every method is called on the API's event loop
 * and answers with a future; none blocks. A future failed with {@link NotFound} becomes 404, with
 * {@link Rejected} 409 (or 400 for {@link Rejected#badRequest()}), anything else 500 with a one-line message.
 * No view carries a password, a token or a connection string.
 */
public interface FleetApi {

  /** Every configured cluster. */
  Future<List<ClusterView>> clusters();

  /** The databases of one cluster as last discovered (plus any with backups in the repository). */
  Future<List<DatabaseView>> databases(String cluster);

  /** Runs in flight, queued, and the most recent finished ones (newest first, at most {@code limit}). */
  Future<List<RunView>> runs(int limit);

  Future<RunView> run(String runId);

  /** The backups of one database in the repository, newest first. */
  Future<List<BackupView>> backups(String cluster, String database);

  /** Queues a backup of one database now; completes with the queued run (state QUEUED or later). */
  Future<RunView> backupNow(String cluster, String database);

  /** Starts restoring a backup into a database of a configured cluster; completes once the job is accepted. */
  Future<RestoreJobView> restore(String cluster, String database, String backupId, RestoreRequest request);

  Future<RestoreJobView> restoreJob(String jobId);

  /** Recent restore jobs, newest first. */
  Future<List<RestoreJobView>> restoreJobs();

  /**
   * The alert notifications this coordinator sent most recently (at most 100), newest first; empty when alerting is
   * off or this coordinator is a standby (alerts are sent by the leader only).
   */
  Future<List<AlertView>> alerts();

  /** Readiness: the coordinator is connected to Kafka and knows its role. */
  Status status();

  record Status(boolean ready, String role, String detail) {}

  /**
   * @param nextWaveAt the next scheduled wave, null when the cluster has no schedule (or this coordinator is not
   *     the one scheduling)
   * @param lastDiscoveryAt when the cluster's databases were last listed, null before the first wave
   * @param discoveryError why the last listing failed (the wave was skipped), null when it worked
   */
  record ClusterView(String name, String host, int port, String schedule, String timeZone, Instant nextWaveAt,
      int maxRuns, int maxTasks, int runsInFlight, int tasksInFlight, int databases, Instant lastDiscoveryAt,
      String discoveryError) {}

  /**
   * @param lastBackup the newest backup in the repository, or null
   * @param lastRun the most recent run this coordinator knows of (running, or how it ended), or null
   * @param lastRestoreTestAt the last passed restore test, or null (none yet)
   */
  record DatabaseView(String cluster, String name, BackupView lastBackup, RunSummary lastRun,
      Instant lastRestoreTestAt) {}

  record RunSummary(String runId, String state, Instant at, String reason) {}

  /**
   * @param tables distinct tables of the table data; null for an encrypted backup whose manifest's sealed part this
   *     coordinator holds no key for (a rotated-out key)
   * @param rows rows of the table data; null where {@code tables} is
   */
  record BackupView(String backupId, String cluster, String database, Instant startedAt, Instant finishedAt,
      Long tables, Long rows, long bytes, boolean encrypted, String archiveFormat) {}

  /**
   * @param state QUEUED (waiting for admission), RUNNING, COMPLETED or FAILED
   * @param attempt the run's attempt within its request (a run aborted before all its tasks started is retried)
   * @param progress totals over the tasks; null while queued
   * @param tasks per-task progress; empty while queued
   */
  record RunView(String runId, String cluster, String database, String backupId, String state, int attempt,
      String trigger, Instant queuedAt, Instant startedAt, Instant endedAt, String reason, Progress progress,
      List<TaskView> tasks) {}

  /** @param etaSeconds null until there is a rate to estimate from */
  record Progress(int tasksTotal, int tasksDone, int tasksRunning, long rows, long rawBytes, long storedBytes,
      double bytesPerSecond, Long etaSeconds, double fraction) {}

  /** @param table schema.name for table-data tasks, null for the others */
  record TaskView(String taskId, String kind, String table, String chunk, String status, int attempt, long rows,
      long rawBytes, long storedBytes, double bytesPerSecond, Long etaSeconds) {}

  /**
   * A restore into {@code targetCluster}/{@code targetDatabase} (a cluster named in the configuration: the API
   * never takes credentials). Selection fields as {@code pgfleet restore} takes them.
   */
  record RestoreRequest(String targetCluster, String targetDatabase, List<String> schemas, List<String> tables,
      List<String> excludeTables, boolean dataOnly, boolean schemaOnly, boolean clean, int jobs, boolean noOwner) {}

  /** @param state RUNNING, COMPLETED or FAILED */
  record RestoreJobView(String jobId, String cluster, String database, String backupId, String targetCluster,
      String targetDatabase, String state, Instant startedAt, Instant endedAt, String error, String phase,
      int tablesTotal, int tablesDone, long rows, long rawBytes, List<String> notes) {}

  /**
   * One alert notification as handed to the webhooks.
   *
   * @param kind backup_failed, storage_error, restore_test_failed or missed_schedule
   * @param status firing or resolved
   * @param at when the notification was sent
   */
  record AlertView(String alertId, String kind, String status, String cluster, String database, String summary,
      Instant at) {}

  /** The named thing does not exist: 404. */
  final class NotFound extends RuntimeException {
    public NotFound(String message) {
      super(message);
    }
  }

  /** The request cannot be carried out as asked: 409, or 400 when the request itself is malformed. */
  final class Rejected extends RuntimeException {
    private final boolean badRequest;

    public Rejected(String message, boolean badRequest) {
      super(message);
      this.badRequest = badRequest;
    }

    public boolean badRequest() {
      return badRequest;
    }
  }

  static Optional<String> trimmed(String s) {
    return s == null || s.isBlank() ? Optional.empty() : Optional.of(s.trim());
  }
}
