package io.pgfleet.common.pg;

import java.util.List;
import java.util.stream.Collectors;

/** Identifier quoting as PostgreSQL's quote_ident does it, always quoting: never wrong, whatever the name holds. */
public final class PgIdent {
  private PgIdent() {}

  public static String quote(String identifier) {
    if (identifier.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("identifier contains a NUL byte");
    }
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  public static String columnList(List<String> columns) {
    return columns.stream().map(PgIdent::quote).collect(Collectors.joining(", "));
  }

  /** A SQL string literal (standard_conforming_strings on, the default since 9.1). */
  public static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }
}
