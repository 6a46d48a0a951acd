package io.pgfleet.coordinator.plan;

import io.pgfleet.common.pg.PgIdent;
import io.pgfleet.common.pg.PsqlPattern;
import io.pgfleet.common.pg.TableInfo;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.task.ArchiveOptions;
import io.pgfleet.common.task.ArchiveTask;
import io.pgfleet.common.task.Chunk;
import io.pgfleet.common.task.DumpFilter;
import io.pgfleet.common.task.GlobalsTask;
import io.pgfleet.common.task.SchemaTask;
import io.pgfleet.common.task.TableDataTask;
import io.pgfleet.common.task.Task;
import io.pgfleet.common.task.TaskHeader;
import io.pgfleet.coordinator.snapshot.SnapshotHolder;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Plans a run from the catalog as the snapshot sees it: one schema task, one globals task (the cluster's roles and
 * tablespaces), one table-data task per table the selection ({@link DumpFilter}) holds with its rows, and
 * several chunk tasks for each table whose dump would cost more than the split threshold. Tasks are ordered by
 * estimated cost, largest first, so the longest task starts first and does not finish last alone.
 *
 * <p>The cost of a task is the COPY text it will produce, not the table's pages: narrow rows give little text per
 * page, bytea gives twice its stored size. Tables above {@link PlanOptions#SAMPLE_FROM} on disk have their text
 * width measured on a sample of pages under the snapshot; smaller ones are costed at their size on disk.
 */
public final class BackupPlanner {
  /**
   * @param splitThreshold a table whose estimated COPY text is larger is split into chunks
   * @param chunkSize the COPY text each chunk should hold
   */
  public record PlanOptions(long splitThreshold, long chunkSize) {
    public static final long SAMPLE_FROM = 8L << 20;
    public static final int MAX_CHUNKS = 1024;

    public static PlanOptions defaults() {
      return new PlanOptions(256L << 20, 128L << 20);
    }

    public PlanOptions {
      if (splitThreshold < 1 || chunkSize < 1) {
        throw new IllegalArgumentException("split threshold and chunk size must be positive");
      }
    }
  }

  private BackupPlanner() {}

  /**
   * @param tables the tables as {@code Catalog.tables} listed them under the holder's snapshot, already locked
   *     against DROP, so sampling them cannot fail on a table dropped meanwhile
   */
  public static BackupPlan plan(SnapshotHolder holder, List<TableInfo> tables, String cluster, String database,
      String runId, String backupId, PlanOptions options, DumpFilter filter) throws SQLException {
    Connection c = holder.connection();
    int serverVersion = holder.source().serverVersionNum();
    Instant now = Instant.now();
    String snapshot = holder.snapshot();
    List<Task> tasks = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    DumpFilter selection = filter == null ? DumpFilter.NONE : filter;
    List<TableInfo> copied = selection.isEmpty() ? tables : select(c, tables, database, selection, notes);
    long total = 0;
    int n = 1;
    for (TableInfo t : copied) {
      long cost = t.bytes() >= PlanOptions.SAMPLE_FROM ? estimateText(c, t) : t.bytes();
      total += cost;
      int want = cost > options.splitThreshold()
          ? (int) Math.min(PlanOptions.MAX_CHUNKS, (cost + options.chunkSize() - 1) / options.chunkSize()) : 1;
      List<Chunk> chunks = want > 1 ? split(c, t, want, serverVersion, cost, notes) : List.of();
      if (chunks.isEmpty()) {
        TaskHeader h = header(backupId, String.format("t%05d", n), runId, cluster, database, snapshot,
            RepositoryLayout.dataKey(cluster, database, backupId, n), now);
        tasks.add(new TableDataTask(h, t.ref(), t.columns(), cost, null));
      } else {
        for (Chunk ch : chunks) {
          TaskHeader h = header(backupId, String.format("t%05d-%04d", n, ch.index()), runId, cluster, database,
              snapshot, RepositoryLayout.dataKey(cluster, database, backupId, n, ch.index()), now);
          tasks.add(new TableDataTask(h, t.ref(), t.columns(), cost / chunks.size(), ch));
        }
      }
      n++;
    }
    tasks.sort(Comparator.comparingLong((Task x) -> ((TableDataTask) x).estimatedBytes()).reversed());
    tasks.add(0, new SchemaTask(header(backupId, "schema", runId, cluster, database, snapshot,
        RepositoryLayout.schemaKey(cluster, database, backupId), now), serverVersion, selection));
    tasks.add(1, new GlobalsTask(header(backupId, "globals", runId, cluster, database, snapshot,
        RepositoryLayout.globalsKey(cluster, database, backupId), now), serverVersion));
    return new BackupPlan(runId, backupId, cluster, database, holder.source(), List.copyOf(tasks), total,
        List.copyOf(notes), selection);
  }

  /**
   * The tables whose rows the run copies under a pg_dump-style selection, with a note saying what it holds. Fails
   * as pg_dump does (with {@code --strict-names}, as archive mode runs it) when a {@code -n} pattern matches no
   * schema, and when the selection holds no table at all: a backup of nothing is a mistaken pattern.
   */
  static List<TableInfo> select(Connection c, List<TableInfo> tables, String database, DumpFilter filter,
      List<String> notes) throws SQLException {
    try {
      filter.check();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot back up database " + database + ": " + e.getMessage());
    }
    if (!filter.schemas().isEmpty()) {
      List<String> schemas = new ArrayList<>();
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT nspname FROM pg_namespace")) {
        while (rs.next()) {
          schemas.add(rs.getString(1));
        }
      }
      for (String p : filter.schemas()) {
        if (schemas.stream().noneMatch(s -> PsqlPattern.matchesName(p, s))) {
          throw new IllegalArgumentException("cannot back up database " + database + ": no matching schemas were"
              + " found for pattern " + p + " (-n): check the name (unquoted letters match lower case; double-quote"
              + " a mixed-case name)");
        }
      }
    }
    Set<Long> visible = visibleTables(c);
    List<TableInfo> copied = new ArrayList<>();
    int held = 0;
    int rowsLeftOut = 0;
    for (TableInfo t : tables) {
      boolean v = visible.contains(t.oid());
      if (!filter.includes(t.ref().schema(), t.ref().name(), v)) {
        continue;
      }
      held++;
      if (filter.excludesData(t.ref().schema(), t.ref().name(), v)) {
        rowsLeftOut++;
      } else {
        copied.add(t);
      }
    }
    if (held == 0 && !filter.schemas().isEmpty()) {
      throw new IllegalArgumentException("cannot back up database " + database + ": the selection "
          + filter.describe() + " holds no table (of " + tables.size() + "): check the patterns");
    }
    notes.add("selection " + filter.describe() + ": " + held + " of " + tables.size() + " tables"
        + (rowsLeftOut > 0 ? "; rows left out of " + rowsLeftOut + " of them (--exclude-table-data)" : ""));
    return copied;
  }

  /**
   * The tables a pattern without a schema can match: pg_dump resolves {@code -T name} as psql does, among the
   * relations visible in the search path, after a {@code RESET search_path} to the session's default (the role's or
   * database's setting, else {@code "$user", public}). The same default is set here for the one query, within the
   * snapshot's transaction, and the connection's own path put back.
   */
  static Set<Long> visibleTables(Connection c) throws SQLException {
    Set<Long> visible = new HashSet<>();
    String own;
    String reset;
    try (Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT current_setting('search_path'),"
             + " (SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'search_path')")) {
      rs.next();
      own = rs.getString(1);
      reset = rs.getString(2);
    }
    try (PreparedStatement set = c.prepareStatement("SELECT pg_catalog.set_config('search_path', ?, true)")) {
      set.setString(1, reset);
      set.executeQuery().close();
      try (Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind = 'r'"
               + " AND pg_catalog.pg_table_is_visible(c.oid)")) {
        while (rs.next()) {
          visible.add(rs.getLong(1));
        }
      } finally {
        set.setString(1, own);
        set.executeQuery().close();
      }
    }
    return visible;
  }

  /**
   * The plan of an archive-mode run: one pg_dump archive task under the holder's snapshot. Its key names the
   * archive without the execution id ({@code archive}); the worker adds the execution id and the extension.
   */
  public static BackupPlan planArchive(SnapshotHolder holder, String cluster, String database, String runId,
      String backupId, ArchiveOptions archive) {
    TaskHeader h = header(backupId, "archive", runId, cluster, database, holder.snapshot(),
        RepositoryLayout.backupPrefix(cluster, database, backupId) + "archive", Instant.now());
    String note = "archive mode: one " + archive.format() + " pg_dump archive"
        + (archive.jobs() > 1 ? " with " + archive.jobs() + " jobs" : "")
        + (archive.args().isEmpty() ? "" : " (" + String.join(" ", archive.args()) + ")");
    return new BackupPlan(runId, backupId, cluster, database, holder.source(),
        List.of(new ArchiveTask(h, holder.source().serverVersionNum(), archive)), 0, List.of(note), DumpFilter.NONE);
  }

  private static TaskHeader header(String backupId, String id, String runId, String cluster, String database,
      String snapshot, String key, Instant now) {
    return new TaskHeader(backupId + "/" + id, runId, backupId, cluster, database, snapshot, key, 1, now);
  }

  /**
   * The COPY text the table will give: the text width of the rows on about 64 sampled pages (block sampling reads
   * only those pages), times the row estimate. Each row's text is measured as its record's text form, which
   * quotes and escapes much as COPY does and detoasts and hex-encodes the same values.
   */
  static long estimateText(Connection c, TableInfo t) throws SQLException {
    if (t.columns().isEmpty() || t.blocks() == 0) {
      return t.bytes();
    }
    double percent = Math.min(100.0, 100.0 * 64 / t.blocks());
    StringBuilder row = new StringBuilder("ROW(");
    for (int i = 0; i < t.columns().size(); i++) {
      row.append(i == 0 ? "" : ", ").append("s.").append(PgIdent.quote(t.columns().get(i)));
    }
    row.append(")");
    String sql = "SELECT count(*), COALESCE(sum(octet_length(" + row + "::text)), 0) FROM ONLY " + t.ref().qualified()
        + " s TABLESAMPLE SYSTEM (" + percent + ") REPEATABLE (7)";
    long sampledRows;
    long sampledBytes;
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      sampledRows = rs.getLong(1);
      sampledBytes = rs.getLong(2);
    }
    if (sampledRows == 0) {
      return t.bytes();
    }
    double sampledBlocks = Math.max(1.0, t.blocks() * percent / 100.0);
    long rows = t.estimatedRows() > 0 ? t.estimatedRows() : (long) (sampledRows / sampledBlocks * t.blocks());
    // Each COPY line is the row's text with tabs instead of commas and no parentheses: about one byte shorter.
    double perRow = Math.max(1.0, (double) sampledBytes / sampledRows - 1);
    return Math.max(1, (long) (perRow * rows));
  }

  /**
   * Splits a table into {@code want} chunks: by ctid ranges of equal page counts on PostgreSQL 14 and later (TID
   * range scans read only those pages); before 14 by equal ranges of a single-column integer primary key (index
   * range scans); otherwise not at all, with a note saying why.
   */
  static List<Chunk> split(Connection c, TableInfo t, int want, int serverVersion, long cost, List<String> notes)
      throws SQLException {
    String mb = cost >= 1L << 20 ? (cost >> 20) + " MB" : Math.max(1, cost >> 10) + " kB";
    if (serverVersion >= 140000) {
      int k = (int) Math.min(want, Math.max(1, t.blocks()));
      if (k < 2) {
        return List.of();
      }
      List<Chunk> chunks = new ArrayList<>(k);
      for (int i = 1; i <= k; i++) {
        Long from = i == 1 ? null : t.blocks() * (i - 1) / k;
        Long to = i == k ? null : t.blocks() * i / k;
        chunks.add(Chunk.ctid(i, k, from, to));
      }
      notes.add("table " + t.ref().qualified() + " (~" + mb + " of COPY text) split into " + k
          + " chunks by ctid range");
      return chunks;
    }
    String version = serverVersion / 10000 + "";
    if (t.integerKey() == null) {
      notes.add("table " + t.ref().qualified() + " (~" + mb + ") not split: PostgreSQL " + version
          + " has no TID range scan (14+) and the table has no single-column integer primary key to split on");
      return List.of();
    }
    long min;
    long max;
    String key = PgIdent.quote(t.integerKey());
    try (Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT min(" + key + "), max(" + key + ") FROM ONLY " + t.ref().qualified())) {
      rs.next();
      min = rs.getLong(1);
      if (rs.wasNull()) {
        return List.of();
      }
      max = rs.getLong(2);
    }
    // The span as a double: max - min overflows a long for keys spread over the whole bigint range.
    double span = (double) max - (double) min + 1;
    List<Long> bounds = new ArrayList<>();
    for (int i = 1; i < want; i++) {
      long b = (long) Math.floor(min + span * i / want);
      if (b > min && b <= max && (bounds.isEmpty() || b > bounds.get(bounds.size() - 1))) {
        bounds.add(b);
      }
    }
    int k = bounds.size() + 1;
    if (k < 2) {
      return List.of();
    }
    List<Chunk> chunks = new ArrayList<>(k);
    for (int i = 1; i <= k; i++) {
      chunks.add(Chunk.key(i, k, t.integerKey(), i == 1 ? null : bounds.get(i - 2), i == k ? null : bounds.get(i - 1)));
    }
    notes.add("table " + t.ref().qualified() + " (~" + mb + ") split into " + k + " chunks by ranges of its key "
        + t.integerKey() + ": PostgreSQL " + version + " has no TID range scan (14+); keys that are not evenly spread"
        + " give uneven chunks");
    return chunks;
  }
}
