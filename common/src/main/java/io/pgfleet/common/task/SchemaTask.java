package io.pgfleet.common.task;

/**
 * Everything but table data, as a pg_dump custom archive taken under the run's snapshot: pre-data, sequence
 * values, large objects, post-data (including materialized view refreshes). The worker derives the tables to
 * leave out from the catalog under the same snapshot, so the task stays small whatever the table count.
 */
public record SchemaTask(TaskHeader header, int serverVersionNum) implements Task {
  public static final String KIND = "schema";

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String describe() {
    return "schema of " + header.database();
  }

  @Override
  public SchemaTask withAttempt(int attempt) {
    return new SchemaTask(header.withAttempt(attempt), serverVersionNum);
  }

  @Override
  public SchemaTask withEncryption(io.pgfleet.common.manifest.BackupEncryption encryption) {
    return new SchemaTask(header.withEncryption(encryption), serverVersionNum);
  }
}
