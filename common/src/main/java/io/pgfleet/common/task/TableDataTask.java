package io.pgfleet.common.task;

import io.pgfleet.common.pg.TableRef;
import java.util.List;
import java.util.Objects;

/**
 * The rows of one table, or of one chunk of a table split across tasks, copied under the run's snapshot into one
 * compressed artifact.
 *
 * @param estimatedBytes what the planner expects the COPY text to weigh (the cost it ordered tasks by)
 * @param chunk the part of the table, or null for the whole table
 */
public record TableDataTask(TaskHeader header, TableRef table, List<String> columns, long estimatedBytes,
    Chunk chunk) implements Task {
  public static final String KIND = "table-data";

  public TableDataTask {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(columns, "columns");
    columns = List.copyOf(columns);
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String describe() {
    return "table " + table.qualified() + (chunk == null ? "" : " " + chunk.describe());
  }

  @Override
  public TableDataTask withAttempt(int attempt) {
    return new TableDataTask(header.withAttempt(attempt), table, columns, estimatedBytes, chunk);
  }

  @Override
  public TableDataTask withEncryption(io.pgfleet.common.manifest.BackupEncryption encryption) {
    return new TableDataTask(header.withEncryption(encryption), table, columns, estimatedBytes, chunk);
  }
}
