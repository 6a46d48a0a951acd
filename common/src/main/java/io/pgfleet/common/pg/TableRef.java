package io.pgfleet.common.pg;

import java.util.Objects;

/** A table named by its schema and name exactly as the catalog spells them (unquoted, case preserved). */
public record TableRef(String schema, String name) implements Comparable<TableRef> {
  public TableRef {
    Objects.requireNonNull(schema, "schema");
    Objects.requireNonNull(name, "name");
  }

  /** The SQL form, each part quoted: safe for any identifier (spaces, quotes, unicode, mixed case). */
  public String qualified() {
    return PgIdent.quote(schema) + "." + PgIdent.quote(name);
  }

  /** A pg_dump/pg_restore pattern that matches exactly this table and nothing else. */
  public String exactPattern() {
    return PgIdent.quote(schema) + "." + PgIdent.quote(name);
  }

  @Override
  public int compareTo(TableRef o) {
    int c = schema.compareTo(o.schema);
    return c != 0 ? c : name.compareTo(o.name);
  }

  @Override
  public String toString() {
    return qualified();
  }
}
