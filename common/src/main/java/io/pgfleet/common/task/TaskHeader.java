package io.pgfleet.common.task;

import io.pgfleet.common.manifest.BackupEncryption;
import java.time.Instant;
import java.util.Objects;

/**
 * What every task shares.
 *
 * @param objectKey where the artifact goes, relative to the repository root; deterministic, so a redelivered
 *     task overwrites its own output
 * @param attempt 1 for the first publication; the coordinator republishes a retryable failure with attempt + 1
 * @param encryption the backup's wrapped data key when its artifacts are encrypted, else null; never a key in the
 *     clear: the worker unwraps it with its own master key
 */
public record TaskHeader(String taskId, String runId, String backupId, String cluster, String database,
    String snapshot, String objectKey, int attempt, Instant issuedAt, BackupEncryption encryption) {
  public TaskHeader(String taskId, String runId, String backupId, String cluster, String database,
      String snapshot, String objectKey, int attempt, Instant issuedAt) {
    this(taskId, runId, backupId, cluster, database, snapshot, objectKey, attempt, issuedAt, null);
  }

  public TaskHeader {
    Objects.requireNonNull(taskId, "taskId");
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(backupId, "backupId");
    Objects.requireNonNull(cluster, "cluster");
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(objectKey, "objectKey");
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be >= 1");
    }
  }

  public TaskHeader withAttempt(int next) {
    return new TaskHeader(taskId, runId, backupId, cluster, database, snapshot, objectKey, next, Instant.now(),
        encryption);
  }

  public TaskHeader withEncryption(BackupEncryption e) {
    return new TaskHeader(taskId, runId, backupId, cluster, database, snapshot, objectKey, attempt, issuedAt, e);
  }
}
