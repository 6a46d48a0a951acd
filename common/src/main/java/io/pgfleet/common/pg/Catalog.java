package io.pgfleet.common.pg;

import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Catalog queries shared by the planner and the workers; run under one snapshot they return the same answer. */
public final class Catalog {
  private Catalog() {}

  /**
   * Every table whose data a pg_dump of the whole database would dump and pgfleet copies instead: relkind 'r'
   * (partitioned parents hold no rows, their leaves are 'r' too), not temporary, not in a system schema, not owned
   * by an extension (pg_dump dumps extension configuration tables' data itself, and so does our schema dump).
   * Materialized views are not here: their data is a REFRESH in post-data.
   */
  public static List<TableInfo> tables(Connection c) throws SQLException {
    String sql = """
        SELECT c.oid, n.nspname, c.relname, c.relpersistence = 'u', c.relrowsecurity, c.relispartition,
               pg_relation_size(c.oid) + COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0),
               GREATEST(c.reltuples, 0)::bigint,
               ARRAY(SELECT a.attname::text FROM pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                      ORDER BY a.attnum),
               pg_relation_size(c.oid) / current_setting('block_size')::bigint,
               (SELECT a.attname::text FROM pg_index i
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                 WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
                   AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype))
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r'
           AND c.relpersistence <> 't'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY 7 DESC, n.nspname, c.relname
        """;
    List<TableInfo> tables = new ArrayList<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        Array arr = rs.getArray(9);
        List<String> cols = Arrays.asList((String[]) arr.getArray());
        tables.add(new TableInfo(rs.getLong(1), new TableRef(rs.getString(2), rs.getString(3)), List.copyOf(cols),
            rs.getLong(7), rs.getLong(8), rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6), rs.getLong(10),
            rs.getString(11)));
      }
    }
    return tables;
  }

  /** The session settings every COPY of pgfleet runs under, so the text of a row is the same on dump and re-read. */
  public static final List<String> COPY_SESSION_SETTINGS = List.of(
      "SET client_encoding = 'UTF8'",
      "SET DateStyle = 'ISO, YMD'",
      "SET IntervalStyle = 'postgres'",
      "SET TimeZone = 'UTC'",
      "SET extra_float_digits = 3",
      "SET bytea_output = 'hex'",
      // With row security on, a table with policies would be silently filtered for a non-owner; off makes the
      // server refuse instead, so a backup is never quietly missing rows.
      "SET row_security = off",
      "SET statement_timeout = 0",
      "SET lock_timeout = 0",
      "SET idle_in_transaction_session_timeout = 0");

  public static void applyCopySettings(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      // One round trip for all of them: a task's setup cost counts once per table, and databases have thousands.
      st.execute(String.join(";\n", COPY_SESSION_SETTINGS));
    }
  }

  /** The COPY TO statement for a whole table. A plain COPY of a table never includes child tables' rows. */
  public static String copyOut(TableRef table, List<String> columns) {
    return "COPY " + table.qualified() + columnsClause(columns) + " TO STDOUT";
  }

  /**
   * The COPY TO statement for the rows of a table matching a condition. {@code FROM ONLY}, so an inheritance
   * parent's chunk holds its own rows only, as a plain COPY of the table would; the text of each row is the same
   * as COPY of the table gives.
   */
  public static String copyOut(TableRef table, List<String> columns, String where) {
    return "COPY (SELECT " + PgIdent.columnList(columns) + " FROM ONLY " + table.qualified() + " WHERE " + where
        + ") TO STDOUT";
  }

  public static String copyIn(TableRef table, List<String> columns) {
    return "COPY " + table.qualified() + columnsClause(columns) + " FROM STDIN";
  }

  private static String columnsClause(List<String> columns) {
    // A table can have no column at all (or only generated ones); COPY then takes no list.
    return columns.isEmpty() ? "" : " (" + PgIdent.columnList(columns) + ")";
  }
}
