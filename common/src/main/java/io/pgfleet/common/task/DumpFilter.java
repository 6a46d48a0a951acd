package io.pgfleet.common.task;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.pgfleet.common.pg.PsqlPattern;
import java.util.ArrayList;
import java.util.List;

/**
 * A pg_dump-style selection of what one database's backup holds, as psql patterns (what pg_dump's -n, -N, -T and
 * --exclude-table-data take, see {@link PsqlPattern}): only the schemas matching {@code schemas} (all when empty),
 * minus {@code excludeSchemas} and {@code excludeTables}; tables matching {@code excludeTableData} keep their
 * definition but not their rows.
 *
 * <p>The planner chooses the table-data tasks with {@link #includes} and {@link #excludesData}, and the schema
 * task hands {@link #pgDumpArgs} to pg_dump: both must select the same tables, so both go through these methods.
 */
public record DumpFilter(List<String> schemas, List<String> excludeSchemas, List<String> excludeTables,
    List<String> excludeTableData) {
  public static final DumpFilter NONE = new DumpFilter(List.of(), List.of(), List.of(), List.of());

  /** A list missing from JSON (written by a version that did not know it) is empty. */
  public DumpFilter {
    schemas = schemas == null ? List.of() : List.copyOf(schemas);
    excludeSchemas = excludeSchemas == null ? List.of() : List.copyOf(excludeSchemas);
    excludeTables = excludeTables == null ? List.of() : List.copyOf(excludeTables);
    excludeTableData = excludeTableData == null ? List.of() : List.copyOf(excludeTableData);
  }

  @JsonIgnore
  public boolean isEmpty() {
    return schemas.isEmpty() && excludeSchemas.isEmpty() && excludeTables.isEmpty() && excludeTableData.isEmpty();
  }

  /**
   * Whether the backup holds the table (its definition, and its rows unless {@link #excludesData}).
   *
   * @param visible whether the table is visible in the source session's default search path: as in pg_dump, a
   *     table pattern without a schema ({@code -T name}) matches only such a table
   */
  public boolean includes(String schema, String name, boolean visible) {
    if (!schemas.isEmpty() && schemas.stream().noneMatch(p -> PsqlPattern.matchesName(p, schema))) {
      return false;
    }
    return excludeSchemas.stream().noneMatch(p -> PsqlPattern.matchesName(p, schema))
        && excludeTables.stream().noneMatch(p -> PsqlPattern.matchesRelation(p, schema, name, visible));
  }

  /** Whether the table's rows are left out (--exclude-table-data); its definition follows {@link #includes}. */
  public boolean excludesData(String schema, String name, boolean visible) {
    return excludeTableData.stream().anyMatch(p -> PsqlPattern.matchesRelation(p, schema, name, visible));
  }

  /**
   * Throws IllegalArgumentException with a one-line message naming the option and the pattern if a pattern cannot
   * be read: an unclosed quote, too many dots, a dot in a schema pattern.
   */
  public void check() {
    schemas.forEach(p -> check("-n", p, true));
    excludeSchemas.forEach(p -> check("-N", p, true));
    excludeTables.forEach(p -> check("-T", p, false));
    excludeTableData.forEach(p -> check("--exclude-table-data", p, false));
  }

  private static void check(String option, String pattern, boolean schema) {
    if (pattern == null || pattern.isEmpty()) {
      throw new IllegalArgumentException(option + " needs a pattern (name, schema.name, * and ?), got an empty one");
    }
    try {
      if (schema) {
        PsqlPattern.checkName(pattern);
      } else {
        PsqlPattern.check(pattern);
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + " " + pattern + ": " + e.getMessage());
    }
  }

  /** pg_dump's options for this selection, one argv entry each ({@code --schema=P}, ...), never for a shell. */
  public List<String> pgDumpArgs() {
    List<String> args = new ArrayList<>();
    schemas.forEach(p -> args.add("--schema=" + p));
    excludeSchemas.forEach(p -> args.add("--exclude-schema=" + p));
    excludeTables.forEach(p -> args.add("--exclude-table=" + p));
    excludeTableData.forEach(p -> args.add("--exclude-table-data=" + p));
    return args;
  }

  /** The selection as pgfleet backup's options would give it, for notes and {@code pgfleet show}. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    schemas.forEach(p -> parts.add("-n " + p));
    excludeSchemas.forEach(p -> parts.add("-N " + p));
    excludeTables.forEach(p -> parts.add("-T " + p));
    excludeTableData.forEach(p -> parts.add("--exclude-table-data " + p));
    return parts.isEmpty() ? "whole database" : String.join(" ", parts);
  }
}
