package io.pgfleet.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * An independent check that two databases on the test server hold the same thing. It uses only
 * SQL and the {@code pg_dump} on PATH, never pgfleet code, so it can judge pgfleet's restores.
 *
 * <p>Compared: the set of ordinary tables (partitions and unlogged included) and materialized
 * views; each one's row count and a digest of its rows; the normalised {@code pg_dump
 * --schema-only} text; every sequence's position; every large object's content, owner, ACL and
 * comment. Data is read as superuser with {@code row_security = off} inside one repeatable-read
 * snapshot per database, with output settings pinned so the text of a row does not depend on
 * per-database or per-role settings.
 */
public final class DatabaseComparison {

    private static final long PG_DUMP_TIMEOUT_SECONDS = 300;
    private static final int DUMP_CONTEXT_LINES = 3;

    private DatabaseComparison() {
    }

    /** Differences between {@code dbA} and {@code dbB}, human-readable; empty means equal. */
    public record Report(String dbA, String dbB, List<String> differences) {

        public Report {
            differences = List.copyOf(differences);
        }

        public boolean isEqual() {
            return differences.isEmpty();
        }

        public void assertEqual() {
            if (!isEqual()) {
                throw new AssertionError(toString());
            }
        }

        @Override
        public String toString() {
            if (isEqual()) {
                return "databases " + dbA + " and " + dbB + " are equal";
            }
            StringBuilder sb = new StringBuilder("databases ").append(dbA).append(" and ").append(dbB)
                    .append(" differ (").append(differences.size()).append(" difference")
                    .append(differences.size() == 1 ? "" : "s").append("):");
            differences.forEach(d -> sb.append("\n - ").append(d));
            return sb.toString();
        }
    }

    /** A table or materialized view, keyed by its quoted {@code schema.name}. */
    private record Relation(String kind, boolean populated) {
    }

    private record TableDigest(long rows, String md5) {
    }

    private record SequenceState(long lastValue, boolean isCalled) {
        @Override
        public String toString() {
            return "last_value=" + lastValue + ", is_called=" + isCalled;
        }
    }

    private record LargeObjectState(String md5, String owner, String acl, String comment) {
    }

    /** Everything read from one database. */
    private record Snapshot(
            Map<String, Relation> relations,
            Map<String, TableDigest> tables,
            Map<String, SequenceState> sequences,
            Map<Long, LargeObjectState> largeObjects,
            List<String> schemaDump) {
    }

    public static Report compare(TestPostgres pg, String dbA, String dbB) {
        return compare(pg, dbA, dbB, Path.of("pg_dump"));
    }

    /**
     * The same with a given {@code pg_dump}: the one on PATH refuses servers newer than itself, so a test against
     * such a server names a newer one.
     */
    public static Report compare(TestPostgres pg, String dbA, String dbB, Path pgDump) {
        Snapshot a = snapshot(pg, dbA, pgDump);
        Snapshot b = snapshot(pg, dbB, pgDump);
        List<String> diffs = new ArrayList<>();
        compareRelations(dbA, dbB, a, b, diffs);
        compareSchemaDumps(dbA, dbB, a.schemaDump(), b.schemaDump(), diffs);
        compareSequences(dbA, dbB, a.sequences(), b.sequences(), diffs);
        compareLargeObjects(dbA, dbB, a.largeObjects(), b.largeObjects(), diffs);
        return new Report(dbA, dbB, diffs);
    }

    // ------------------------------------------------------------------ reading one database

    private static Snapshot snapshot(TestPostgres pg, String db, Path pgDump) {
        try (Connection c = pg.connect(db)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            try (Statement st = c.createStatement()) {
                // pinned so that t::text is the same whatever the database or role defaults are;
                // row_security = off makes a role that RLS would filter fail loudly instead
                st.execute("SET LOCAL row_security = off");
                st.execute("SET LOCAL search_path = pg_catalog");
                st.execute("SET LOCAL TimeZone = 'UTC'");
                st.execute("SET LOCAL DateStyle = 'ISO, YMD'");
                st.execute("SET LOCAL IntervalStyle = 'postgres'");
                st.execute("SET LOCAL extra_float_digits = 1");
                st.execute("SET LOCAL bytea_output = 'hex'");
                st.execute("SET LOCAL lc_monetary = 'C'");
            }
            Map<String, Relation> relations = readRelations(c);
            Map<String, TableDigest> tables = new TreeMap<>();
            for (Map.Entry<String, Relation> e : relations.entrySet()) {
                if (e.getValue().populated()) {
                    tables.put(e.getKey(), digest(c, e.getKey()));
                }
            }
            Map<String, SequenceState> sequences = readSequences(c);
            Map<Long, LargeObjectState> largeObjects = readLargeObjects(c);
            c.rollback();
            return new Snapshot(relations, tables, sequences, largeObjects, schemaDump(pg, db, pgDump));
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read database " + db + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Relation> readRelations(Connection c) throws SQLException {
        String sql = """
                SELECT format('%I.%I', n.nspname, c.relname) AS qname,
                       CASE c.relkind WHEN 'm' THEN 'materialized view'
                                      WHEN 'r' THEN CASE WHEN c.relispartition THEN 'partition' ELSE 'table' END
                       END
                       || CASE c.relpersistence WHEN 'u' THEN ' (unlogged)' ELSE '' END AS kind,
                       c.relispopulated
                FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'm')
                  AND n.nspname <> 'information_schema'
                  AND n.nspname !~ '^pg_'
                ORDER BY 1
                """;
        Map<String, Relation> out = new TreeMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.put(rs.getString(1), new Relation(rs.getString(2), rs.getBoolean(3)));
            }
        }
        return out;
    }

    /**
     * Row count and an order-independent digest of the rows. {@code qualifiedName} comes from
     * {@code format('%I.%I')} on the server, so it is already a correctly quoted identifier.
     */
    private static TableDigest digest(Connection c, String qualifiedName) throws SQLException {
        String sql = "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))"
                + " FROM ONLY " + qualifiedName + " t";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new TableDigest(rs.getLong(1), rs.getString(2));
        }
    }

    private static Map<String, SequenceState> readSequences(Connection c) throws SQLException {
        String list = """
                SELECT format('%I.%I', n.nspname, c.relname)
                FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'S'
                  AND n.nspname <> 'information_schema'
                  AND n.nspname !~ '^pg_'
                ORDER BY 1
                """;
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(list)) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        Map<String, SequenceState> out = new TreeMap<>();
        for (String name : names) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + name)) {
                rs.next();
                out.put(name, new SequenceState(rs.getLong(1), rs.getBoolean(2)));
            }
        }
        return out;
    }

    private static Map<Long, LargeObjectState> readLargeObjects(Connection c) throws SQLException {
        String sql = """
                SELECT m.oid::int8,
                       md5(lo_get(m.oid)),
                       pg_get_userbyid(m.lomowner),
                       m.lomacl::text,
                       obj_description(m.oid, 'pg_largeobject')
                FROM pg_catalog.pg_largeobject_metadata m
                ORDER BY 1
                """;
        Map<Long, LargeObjectState> out = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getLong(1),
                        new LargeObjectState(rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5)));
            }
        }
        return out;
    }

    /** {@code pg_dump --schema-only} (owners kept), normalised; see {@link #normaliseDump}. */
    private static List<String> schemaDump(TestPostgres pg, String db, Path pgDump) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("pgfleet-compare-", ".sql");
            err = Files.createTempFile("pgfleet-compare-", ".err");
            ProcessBuilder pb = new ProcessBuilder(pgDump.toString(), "--schema-only", "--no-password")
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            pb.environment().putAll(pg.libpqEnv());
            // via the environment, so a database name is never parsed as a conninfo string
            pb.environment().put("PGDATABASE", db);
            int exit;
            try (RunningProcess p = new RunningProcess(pb.start())) {
                p.process().getOutputStream().close();
                if (!p.process().waitFor(PG_DUMP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("pg_dump of " + db + " timed out");
                }
                exit = p.process().exitValue();
            }
            if (exit != 0) {
                throw new IllegalStateException("pg_dump --schema-only of " + db + " failed (exit " + exit + "): "
                        + Files.readString(err, StandardCharsets.UTF_8).strip());
            }
            return normaliseDump(Files.readAllLines(out, StandardCharsets.UTF_8), db);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run pg_dump for " + db, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running pg_dump for " + db, e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    /**
     * Drops what legitimately differs between two dumps of equal databases: the restrict and
     * unrestrict meta-command lines (newer pg_dump prints random keys there) and comments naming
     * the database.
     */
    static List<String> normaliseDump(List<String> lines, String db) {
        List<String> out = new ArrayList<>(lines.size());
        for (String line : lines) {
            if (line.startsWith("\\restrict") || line.startsWith("\\unrestrict")) {
                continue;
            }
            if (line.startsWith("--") && line.contains(db)) {
                continue;
            }
            out.add(line);
        }
        return out;
    }

    /** Process is not AutoCloseable in Java 17; this makes sure pg_dump never outlives us. */
    private record RunningProcess(Process process) implements AutoCloseable {
        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover temp file must not hide the comparison's outcome
            }
        }
    }

    // ------------------------------------------------------------------ comparing two snapshots

    private static void compareRelations(String dbA, String dbB, Snapshot a, Snapshot b, List<String> diffs) {
        TreeSet<String> names = new TreeSet<>(a.relations().keySet());
        names.addAll(b.relations().keySet());
        for (String name : names) {
            Relation ra = a.relations().get(name);
            Relation rb = b.relations().get(name);
            if (ra == null || rb == null) {
                Relation present = ra == null ? rb : ra;
                diffs.add(present.kind() + " " + name + ": only in " + (ra == null ? dbB : dbA));
                continue;
            }
            if (!ra.kind().equals(rb.kind())) {
                diffs.add("relation " + name + ": " + ra.kind() + " in " + dbA + " but " + rb.kind() + " in " + dbB);
            }
            if (ra.populated() != rb.populated()) {
                diffs.add(ra.kind() + " " + name + ": " + (ra.populated() ? "populated" : "not populated") + " in "
                        + dbA + " but " + (rb.populated() ? "populated" : "not populated") + " in " + dbB);
                continue;
            }
            TableDigest digestA = a.tables().get(name);
            TableDigest digestB = b.tables().get(name);
            if (digestA == null || digestB == null) {
                continue;
            }
            if (digestA.rows() != digestB.rows()) {
                diffs.add(ra.kind() + " " + name + ": " + digestA.rows() + " rows in " + dbA + " but "
                        + digestB.rows() + " rows in " + dbB);
            } else if (!digestA.md5().equals(digestB.md5())) {
                diffs.add(ra.kind() + " " + name + ": content differs (" + digestA.rows() + " rows in both; digest "
                        + digestA.md5() + " in " + dbA + " vs " + digestB.md5() + " in " + dbB + ")");
            }
        }
    }

    private static void compareSchemaDumps(String dbA, String dbB, List<String> a, List<String> b,
                                           List<String> diffs) {
        if (a.equals(b)) {
            return;
        }
        int first = 0;
        while (first < a.size() && first < b.size() && a.get(first).equals(b.get(first))) {
            first++;
        }
        StringBuilder sb = new StringBuilder("schema (pg_dump --schema-only) differs at normalised line ")
                .append(first + 1).append(" (").append(a.size()).append(" lines in ").append(dbA).append(", ")
                .append(b.size()).append(" in ").append(dbB).append(")");
        appendExcerpt(sb, dbA, a, first);
        appendExcerpt(sb, dbB, b, first);
        diffs.add(sb.toString());
    }

    private static void appendExcerpt(StringBuilder sb, String db, List<String> lines, int from) {
        sb.append("\n     ").append(db).append(':');
        if (from >= lines.size()) {
            sb.append("\n       <end of dump>");
            return;
        }
        for (int i = from; i < Math.min(lines.size(), from + DUMP_CONTEXT_LINES); i++) {
            sb.append("\n       ").append(lines.get(i));
        }
    }

    private static void compareSequences(String dbA, String dbB, Map<String, SequenceState> a,
                                         Map<String, SequenceState> b, List<String> diffs) {
        TreeSet<String> names = new TreeSet<>(a.keySet());
        names.addAll(b.keySet());
        for (String name : names) {
            SequenceState sa = a.get(name);
            SequenceState sb = b.get(name);
            if (sa == null || sb == null) {
                diffs.add("sequence " + name + ": only in " + (sa == null ? dbB : dbA));
            } else if (!sa.equals(sb)) {
                diffs.add("sequence " + name + ": " + sa + " in " + dbA + " but " + sb + " in " + dbB);
            }
        }
    }

    private static void compareLargeObjects(String dbA, String dbB, Map<Long, LargeObjectState> a,
                                            Map<Long, LargeObjectState> b, List<String> diffs) {
        TreeSet<Long> oids = new TreeSet<>(a.keySet());
        oids.addAll(b.keySet());
        for (Long oid : oids) {
            LargeObjectState la = a.get(oid);
            LargeObjectState lb = b.get(oid);
            String what = "large object " + oid;
            if (la == null || lb == null) {
                diffs.add(what + ": only in " + (la == null ? dbB : dbA));
                continue;
            }
            if (!la.md5().equals(lb.md5())) {
                diffs.add(what + ": content differs (md5 " + la.md5() + " in " + dbA + " vs " + lb.md5() + " in "
                        + dbB + ")");
            }
            if (!la.owner().equals(lb.owner())) {
                diffs.add(what + ": owner " + la.owner() + " in " + dbA + " but " + lb.owner() + " in " + dbB);
            }
            if (!Objects.equals(la.acl(), lb.acl())) {
                diffs.add(what + ": ACL " + la.acl() + " in " + dbA + " but " + lb.acl() + " in " + dbB);
            }
            if (!Objects.equals(la.comment(), lb.comment())) {
                diffs.add(what + ": comment " + quoted(la.comment()) + " in " + dbA + " but " + quoted(lb.comment())
                        + " in " + dbB);
            }
        }
    }

    private static String quoted(String s) {
        return s == null ? "NULL" : "'" + s + "'";
    }
}
