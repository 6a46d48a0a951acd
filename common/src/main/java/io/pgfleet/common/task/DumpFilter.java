package io.pgfleet.common.task;

import java.util.List;

/**
 * A pg_dump-style selection of what one database's backup holds, as psql patterns (what pg_dump's -n, -N, -T and
 * --exclude-table-data take): only the schemas matching {@code schemas} (all when empty), minus
 * {@code excludeSchemas} and {@code excludeTables}; tables matching {@code excludeTableData} keep their definition
 * but not their rows.
 */
public record DumpFilter(List<String> schemas, List<String> excludeSchemas, List<String> excludeTables,
    List<String> excludeTableData) {
  public static final DumpFilter NONE = new DumpFilter(List.of(), List.of(), List.of(), List.of());

  public DumpFilter {
    schemas = List.copyOf(schemas);
    excludeSchemas = List.copyOf(excludeSchemas);
    excludeTables = List.copyOf(excludeTables);
    excludeTableData = List.copyOf(excludeTableData);
  }

  public boolean isEmpty() {
    return schemas.isEmpty() && excludeSchemas.isEmpty() && excludeTables.isEmpty() && excludeTableData.isEmpty();
  }
}
