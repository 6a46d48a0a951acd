package io.pgfleet.common.task;

/**
 * Everything but table data, as a pg_dump custom archive taken under the run's snapshot: pre-data, sequence
 * values, large objects, post-data (including materialized view refreshes). The worker derives the tables to
 * leave out from the catalog under the same snapshot, so the task stays small whatever the table count.
 *
 * @param filter the backup's selection, handed to pg_dump as is so the archive holds the definitions of exactly
 *     the tables the planner chose; null (and absent on the wire, as in tasks from earlier versions) for the whole
 *     database
 */
public record SchemaTask(TaskHeader header, int serverVersionNum, DumpFilter filter) implements Task {
  public static final String KIND = "schema";

  public SchemaTask {
    filter = filter == null || filter.isEmpty() ? null : filter;
  }

  public SchemaTask(TaskHeader header, int serverVersionNum) {
    this(header, serverVersionNum, null);
  }

  /** The selection to dump: {@link DumpFilter#NONE} for the whole database. */
  public DumpFilter selection() {
    return filter == null ? DumpFilter.NONE : filter;
  }

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
    return new SchemaTask(header.withAttempt(attempt), serverVersionNum, filter);
  }

  @Override
  public SchemaTask withEncryption(io.pgfleet.common.manifest.BackupEncryption encryption) {
    return new SchemaTask(header.withEncryption(encryption), serverVersionNum, filter);
  }
}
