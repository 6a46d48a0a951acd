package io.pgfleet.worker.restoretest;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import io.pgfleet.common.pg.PgIdent;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.repository.RestoreTestReport;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.RowDigest;
import io.pgfleet.worker.restore.Restorer;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves a backup restores: restores it whole into a scratch database on a sandbox server, reads every table back
 * and compares its row count and content digest with the manifest, runs the user's assertions, and drops the scratch
 * database whatever happened. Blocking. A restore that fails is a failed test, reported with its reason, never an
 * exception.
 *
 * <p>A split table's chunks cannot be read back one by one after a restore (ctids change), so its rows are read
 * back whole and compared with the sum of its chunks' digests: {@link RowDigest} digests are sums of per-row values,
 * and add up ({@link RowDigest#combine}).
 */
public final class RestoreTester {
  private static final Logger LOG = LoggerFactory.getLogger(RestoreTester.class);
  private static final int RESTORE_JOBS = 2;

  private final Storage storage;
  private final PgTools tools;
  private final MasterKey key;
  private final String pgfleetVersion;

  /** @param key the master key for encrypted backups, null when none is configured */
  public RestoreTester(Storage storage, PgTools tools, MasterKey key, String pgfleetVersion) {
    this.storage = storage;
    this.tools = tools;
    this.key = key;
    this.pgfleetVersion = pgfleetVersion;
  }

  /** {@code <prefix><backup id lowercased, '-' as '_'>}: a name that needs no quoting and tells whose it is. */
  public static String scratchDatabase(String prefix, String backupId) {
    return prefix + backupId.toLowerCase(Locale.ROOT).replace('-', '_');
  }

  /**
   * @param sandbox the sandbox server (any database of it: the scratch database replaces it)
   * @param assertions SQL queries, each returning exactly one row of one boolean that must be true
   * @param timeout the whole test's bound, null for none: when it passes the scratch database is dropped under the
   *     restore, which then fails, and the test fails naming the timeout
   */
  public RestoreTestReport test(Manifest stored, PgConnectionInfo sandbox, String scratchPrefix,
      List<String> assertions, Duration timeout) {
    // The tables to check are in an encrypted backup's sealed part: without its key the test fails, naming it.
    Manifest opened = stored;
    ArtifactCipher cipher = ArtifactCipher.NONE;
    String unopened = null;
    try {
      cipher = ArtifactCipher.forBackup(stored.encryption(), key, "backup " + stored.backupId());
      opened = ManifestSeal.open(stored, cipher);
    } catch (DataKeys.WrongKeyException e) {
      unopened = "restore: " + e.getMessage();
    }
    Manifest m = opened;
    Instant startedAt = Instant.now();
    long t0 = System.nanoTime();
    String scratch = scratchDatabase(scratchPrefix, m.backupId());
    PgConnectionInfo admin = sandbox.withDatabase("postgres");
    PgConnectionInfo target = sandbox.withDatabase(scratch);
    List<String> failures = new ArrayList<>();
    List<RestoreTestReport.TableCheck> tables = new ArrayList<>();
    List<RestoreTestReport.AssertionCheck> checks = new ArrayList<>();
    long restoreMillis = 0;
    long checkMillis = 0;
    long assertMillis = 0;
    AtomicBoolean timedOut = new AtomicBoolean();
    ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pgfleet-restore-test-timeout");
      t.setDaemon(true);
      return t;
    });
    // The backup's read lock, released when the test ends: retention never deletes a backup a restore test reads.
    try (AutoCloseable lock = io.pgfleet.common.repository.BackupLocks.acquire(storage, m, "restore-test")) {
      if (timeout != null) {
        ScheduledFuture<?> unused = watchdog.schedule(() -> {
          timedOut.set(true);
          LOG.warn("restore test of backup {}: timed out after {}; dropping {} under it", m.backupId(), timeout,
              scratch);
          dropQuietly(admin, scratch);
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
      dropDatabase(admin, scratch);
      long r0 = System.nanoTime();
      if (unopened != null) {
        failures.add(unopened);
      }
      boolean restored = unopened == null && restore(m, target, failures);
      restoreMillis = millisSince(r0);
      if (restored) {
        long c0 = System.nanoTime();
        checkTables(m, target, tables, failures);
        checkMillis = millisSince(c0);
        long a0 = System.nanoTime();
        runAssertions(target, assertions, checks, failures);
        assertMillis = millisSince(a0);
      }
    } catch (Exception e) {
      failures.add("sandbox " + admin.endpoint() + ": " + oneLine(e));
    } finally {
      watchdog.shutdownNow();
      try {
        dropDatabase(admin, scratch);
      } catch (SQLException e) {
        failures.add("scratch database " + scratch + " on " + admin.endpoint() + " could not be dropped: "
            + PgErrors.oneLine(e.getMessage()) + "; drop it by hand");
      }
    }
    if (timedOut.get()) {
      failures.add(0, "timed out after " + timeout + " (the scratch database was dropped under the test)");
    }
    Instant finishedAt = Instant.now();
    RestoreTestReport r = new RestoreTestReport(m.backupId(), m.cluster(), m.database(), RestoreTestReport.KIND,
        failures.isEmpty(), startedAt, finishedAt, admin.endpoint(), scratch, tables, checks, List.copyOf(failures),
        new RestoreTestReport.Timings(restoreMillis, checkMillis, assertMillis, millisSince(t0)), pgfleetVersion,
        null);
    // An encrypted backup's result names its tables and assertions only in its sealed part once written.
    return ManifestSeal.sealReport(r, cipher);
  }

  private boolean restore(Manifest m, PgConnectionInfo target, List<String> failures) {
    if (m.archiveMode()) {
      failures.add("restore: backup " + m.backupId() + " is a pg_dump archive (archive mode), which restore tests do"
          + " not cover yet");
      return false;
    }
    try {
      // No owners: a sandbox lacks the client's roles.
      new Restorer(storage, tools, p -> { }, key).restore(m, target, new Restorer.Options(RESTORE_JOBS, true));
      return true;
    } catch (Restorer.RestoreException e) {
      failures.add("restore: " + PgErrors.oneLine(e.getMessage()));
      return false;
    } catch (RuntimeException e) {
      failures.add("restore: " + oneLine(e));
      return false;
    }
  }

  /**
   * Reads every table back as the dump read it: the same session settings, the same column list, the text of
   * {@code COPY (SELECT cols FROM ONLY t)} (which is also what a chunk's COPY gave), through the same digest.
   */
  private static void checkTables(Manifest m, PgConnectionInfo target, List<RestoreTestReport.TableCheck> out,
      List<String> failures) throws SQLException {
    Map<TableRef, List<ArtifactEntry>> byTable = new LinkedHashMap<>();
    m.data().forEach(a -> byTable.computeIfAbsent(a.table(), t -> new ArrayList<>()).add(a));
    try (Connection c = connect(target)) {
      // The settings the dump ran with, as its manifest records them (today's defaults for a manifest without):
      // dates, floats and bytea print the same text only under the same settings.
      if (m.copySettings() == null || m.copySettings().isEmpty()) {
        Catalog.applyCopySettings(c);
      } else {
        try (Statement st = c.createStatement()) {
          st.execute(String.join(";\n", m.copySettings()));
        }
      }
      for (Map.Entry<TableRef, List<ArtifactEntry>> e : byTable.entrySet()) {
        out.add(checkTable(c, e.getKey(), e.getValue(), failures));
      }
    }
  }

  private static RestoreTestReport.TableCheck checkTable(Connection c, TableRef table, List<ArtifactEntry> parts,
      List<String> failures) {
    long expectedRows = parts.stream().mapToLong(ArtifactEntry::rows).sum();
    boolean digestKnown = parts.stream().allMatch(a -> a.contentDigest() != null
        && RowDigest.ALGORITHM.equals(a.contentDigestAlgorithm()));
    String expectedDigest = digestKnown
        ? RowDigest.combine(parts.stream().map(ArtifactEntry::contentDigest).toList()) : null;
    RowDigest read = new RowDigest(OutputStream.nullOutputStream());
    try {
      c.unwrap(PGConnection.class).getCopyAPI()
          .copyOut(Catalog.copyOut(table, parts.get(0).columns(), "true"), read);
    } catch (Exception e) {
      failures.add("table " + table.qualified() + ": cannot be read back: " + oneLine(e));
      return new RestoreTestReport.TableCheck(table, parts.size(), expectedRows, null, expectedDigest, null, false);
    }
    String digest = read.digest();
    boolean rowsOk = read.rows() == expectedRows;
    boolean digestOk = expectedDigest == null || expectedDigest.equals(digest);
    if (!rowsOk) {
      failures.add("table " + table.qualified() + ": " + read.rows() + " rows restored, the manifest says "
          + expectedRows);
    } else if (!digestOk) {
      failures.add("table " + table.qualified() + ": content digest " + digest + " of the restored rows differs from"
          + " the manifest's " + expectedDigest + " (same row count: row contents changed)");
    }
    return new RestoreTestReport.TableCheck(table, parts.size(), expectedRows, read.rows(), expectedDigest, digest,
        rowsOk && digestOk);
  }

  private static void runAssertions(PgConnectionInfo target, List<String> assertions,
      List<RestoreTestReport.AssertionCheck> out, List<String> failures) throws SQLException {
    if (assertions.isEmpty()) {
      return;
    }
    try (Connection c = connect(target)) {
      for (String sql : assertions) {
        String error = assertion(c, sql);
        out.add(new RestoreTestReport.AssertionCheck(sql, error == null, error));
        if (error != null) {
          failures.add("assertion '" + abbreviate(sql) + "': " + error);
        }
      }
    }
  }

  /** Why the assertion failed, null when it returned exactly one row of one true. */
  private static String assertion(Connection c, String sql) {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      if (rs.getMetaData().getColumnCount() != 1) {
        return "returned " + rs.getMetaData().getColumnCount() + " columns, expected one boolean";
      }
      if (!rs.next()) {
        return "returned no row, expected one boolean true";
      }
      Object v = rs.getObject(1);
      if (rs.next()) {
        return "returned more than one row, expected one boolean true";
      }
      if (!(v instanceof Boolean b)) {
        return "returned " + (v == null ? "NULL" : "a " + rs.getMetaData().getColumnTypeName(1))
            + ", expected boolean true";
      }
      return b ? null : "returned false";
    } catch (SQLException e) {
      return "failed: " + PgErrors.oneLine(e.getMessage());
    }
  }

  private static void dropDatabase(PgConnectionInfo admin, String db) throws SQLException {
    try (Connection c = connect(admin); Statement st = c.createStatement()) {
      int version;
      try (ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int")) {
        rs.next();
        version = rs.getInt(1);
      }
      if (version >= 130000) {
        st.execute("DROP DATABASE IF EXISTS " + PgIdent.quote(db) + " WITH (FORCE)");
      } else {
        try (var ps = c.prepareStatement("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            + " WHERE datname = ? AND pid <> pg_backend_pid()")) {
          ps.setString(1, db);
          ps.execute();
        }
        st.execute("DROP DATABASE IF EXISTS " + PgIdent.quote(db));
      }
    }
  }

  private static void dropQuietly(PgConnectionInfo admin, String db) {
    try {
      dropDatabase(admin, db);
    } catch (SQLException e) {
      LOG.warn("restore test: cannot drop {} on {}: {}", db, admin.endpoint(), PgErrors.oneLine(e.getMessage()));
    }
  }

  private static Connection connect(PgConnectionInfo target) throws SQLException {
    return DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties("pgfleet-restore-test"));
  }

  private static String abbreviate(String sql) {
    String s = sql.replaceAll("\\s+", " ").trim();
    return s.length() <= 120 ? s : s.substring(0, 117) + "...";
  }

  private static String oneLine(Exception e) {
    String msg = e instanceof SQLException s ? s.getMessage() : e.getMessage();
    return PgErrors.oneLine(msg == null ? e.toString() : msg);
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }
}
