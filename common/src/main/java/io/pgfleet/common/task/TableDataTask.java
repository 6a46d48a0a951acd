package io.pgfleet.common.task;

import io.pgfleet.common.pg.TableRef;
import java.util.List;
import java.util.Objects;

/** The rows of one table, copied under the run's snapshot into one compressed artifact. */
public record TableDataTask(TaskHeader header, TableRef table, List<String> columns, long estimatedBytes)
    implements Task {
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
    return "table " + table.qualified();
  }

  @Override
  public TableDataTask withAttempt(int attempt) {
    return new TableDataTask(header.withAttempt(attempt), table, columns, estimatedBytes);
  }
}
