package io.pgfleet.common.event;

import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.TableRef;
import java.util.List;

/** The {@code data} of each event type. */
public final class Payloads {
  private Payloads() {}

  /**
   * A fleet coordinator queued a run: it starts when workers have room and the cluster's limits allow.
   *
   * @param trigger schedule, api, retry or recovery
   * @param attempt 1, or more for a run retried after the previous attempt could not start
   */
  public record BackupScheduled(String trigger, int attempt) {}

  /** @param planNotes the planner's decisions worth knowing: tables split into chunks, or not and why */
  public record BackupStarted(String backupId, int tasks, String snapshot, String serverVersion,
      List<String> planNotes) {}

  public record BackupCompleted(String backupId, String manifestKey, int tables, long rows, long bytes,
      long durationMillis) {}

  /**
   * @param category what failed, for alerting: {@code storage} (the repository: an artifact or the manifest could
   *     not be written or read), {@code database} (the backed-up database: connection, snapshot, a query or COPY),
   *     {@code worker} (no worker took the tasks, or one failed for its own reasons), {@code coordinator} (the
   *     coordinator stopped or lost the run); null when unknown, as in events written before the field existed
   */
  public record BackupFailed(String backupId, String reason, String category) {
    public static final String STORAGE = "storage";
    public static final String DATABASE = "database";
    public static final String WORKER = "worker";
    public static final String COORDINATOR = "coordinator";
  }

  public record TaskStarted(String taskId, String kind, TableRef table, int attempt, String worker, int partition) {}

  public record TaskProgress(String taskId, long rows, long rawBytes, long bytes) {}

  /**
   * @param files for a pg_dump archive task: every object it wrote (one file, or each file of a directory archive),
   *     with its own size and SHA-256; {@code artifact} then sums them up. Null for other kinds.
   */
  public record TaskCompleted(String taskId, String kind, int attempt, String worker, ArtifactEntry artifact,
      List<ArtifactEntry> files) {}

  /**
   * @param category as {@link BackupFailed#category()}: {@code storage} when the repository failed, {@code database}
   *     when PostgreSQL did, else {@code worker}; null in events of workers older than the field
   */
  public record TaskFailed(String taskId, String kind, TableRef table, int attempt, String worker, String reason,
      boolean retryable, String category) {}

  /**
   * An alert sent to the configured webhooks (see docs/alerting.md).
   *
   * @param kind backup_failed, storage_error, restore_test_failed or missed_schedule
   * @param status firing or resolved
   * @param alertId stable over one episode of the alert (firing, reminders, resolved)
   */
  public record Alert(String kind, String status, String summary, String alertId) {}

  /**
   * A backup was restored into a scratch database and every table matched its manifest (rows and content digest)
   * and every assertion held.
   *
   * @param tables tables checked
   * @param rows rows checked over all tables
   * @param resultKey the repository key of the test's result ({@code <backup folder>/verify/<time>.json})
   */
  public record RestoreTestPassed(String backupId, int tables, long rows, long durationMillis, String resultKey) {}

  /**
   * A restore test failed.
   *
   * @param failures one line each, naming the table or assertion that failed (or the restore's error)
   * @param resultKey the repository key of the test's result
   */
  public record RestoreTestFailed(String backupId, List<String> failures, String resultKey) {}

  /** A worker's heartbeat on {@code pgfleet.workers}: what it owns and how many of its slots are busy. */
  public record WorkerStatus(String workerId, int slots, int busy, List<Integer> partitions, long at) {}

  /**
   * Retention deleted a backup (its manifest first, then its objects).
   *
   * @param finishedAt when the deleted backup had finished
   * @param reason why: no rule of the policy keeps it, and no safety rule holds it
   * @param policy the policy applied, in one line ({@code keepLast 3, keepDaily 7, timeZone UTC})
   */
  public record RetentionDeleted(String backupId, java.time.Instant finishedAt, String reason, String policy) {}
}
