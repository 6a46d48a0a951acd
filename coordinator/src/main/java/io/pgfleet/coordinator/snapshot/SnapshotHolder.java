package io.pgfleet.coordinator.snapshot;

import io.pgfleet.common.manifest.Manifest.SourceInfo;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports a snapshot and keeps its transaction open so workers can import it. Holding a snapshot holds back
 * vacuum on the client database, so the holder is closed as soon as the run ends, whatever its outcome.
 */
public final class SnapshotHolder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotHolder.class);
  private final Connection connection;
  private final SourceInfo source;
  private final PgConnectionInfo target;

  private SnapshotHolder(Connection connection, SourceInfo source, PgConnectionInfo target) {
    this.connection = connection;
    this.source = source;
    this.target = target;
  }

  /** Connects, opens a REPEATABLE READ READ ONLY transaction and exports its snapshot. */
  public static SnapshotHolder open(PgConnectionInfo target) throws SnapshotException {
    Connection c;
    try {
      c = DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties("pgfleet-snapshot-holder"));
    } catch (SQLException e) {
      throw new SnapshotException(PgErrors.describe(e, target), e);
    }
    try {
      // Autocommit stays on and the transaction is explicit: with autocommit off pgjdbc would open a READ
      // COMMITTED transaction itself before our BEGIN, and the snapshot would not be the one we read with.
      try (Statement st = c.createStatement()) {
        st.execute("SET idle_in_transaction_session_timeout = 0");
        st.execute("SET statement_timeout = 0");
        String systemId = null;
        // Outside the transaction: a refusal here (a locked-down function) must not abort it.
        try (ResultSet rs = st.executeQuery("SELECT system_identifier::text FROM pg_control_system()")) {
          systemId = rs.next() ? rs.getString(1) : null;
        } catch (SQLException e) {
          LOG.info("system identifier of {} not readable ({}); restores cannot recognise the source database",
              target.redacted(), PgErrors.oneLine(e.getMessage()));
        }
        st.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        String snapshot;
        try (ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
          rs.next();
          snapshot = rs.getString(1);
        }
        try (ResultSet rs = st.executeQuery("""
            SELECT current_setting('server_version'), current_setting('server_version_num')::int,
                   CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text,
                   pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, current_user
              FROM pg_database d WHERE d.datname = current_database()
            """)) {
          rs.next();
          SourceInfo info = new SourceInfo(rs.getString(1), rs.getInt(2), snapshot, rs.getString(3),
              rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), systemId);
          if (info.serverVersionNum() < 120000) {
            throw new SnapshotException("PostgreSQL " + info.serverVersion() + " at " + target.endpoint()
                + " is too old: pgfleet supports PostgreSQL 12 and newer");
          }
          LOG.info("exported snapshot {} of {} (PostgreSQL {}, WAL {})", snapshot, target.redacted(),
              info.serverVersion(), info.walLsn());
          return new SnapshotHolder(c, info, target);
        }
      }
    } catch (SQLException e) {
      closeQuietly(c);
      throw new SnapshotException(PgErrors.describe(e, target), e);
    } catch (SnapshotException e) {
      closeQuietly(c);
      throw e;
    }
  }

  /** The holder's own connection, inside the snapshot: the planner reads the catalog through it. */
  public Connection connection() {
    return connection;
  }

  public SourceInfo source() {
    return source;
  }

  public String snapshot() {
    return source.snapshot();
  }

  /**
   * Takes ACCESS SHARE locks on the planned tables, as pg_dump does, so a concurrent DROP or ALTER waits for the
   * run instead of breaking it; a table already dropped since the snapshot fails the plan with its name.
   */
  public void lockTables(java.util.List<io.pgfleet.common.pg.TableRef> tables, java.time.Duration timeout)
      throws SnapshotException {
    try (Statement st = connection.createStatement()) {
      st.execute("SET LOCAL lock_timeout = " + timeout.toMillis());
      for (io.pgfleet.common.pg.TableRef t : tables) {
        st.execute("LOCK TABLE ONLY " + t.qualified() + " IN ACCESS SHARE MODE");
      }
    } catch (SQLException e) {
      throw new SnapshotException("cannot lock the tables of " + target.redacted() + " for the backup: "
          + PgErrors.oneLine(e.getMessage()) + "; retry when no DDL holds them", e);
    }
  }

  /** True while the holding session still answers; a dead holder means the snapshot is gone. */
  public boolean alive() {
    try (Statement st = connection.createStatement()) {
      st.execute("SELECT 1");
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    try (Statement st = connection.createStatement()) {
      st.execute("ROLLBACK");
    } catch (SQLException ignored) {
      // closing anyway
    }
    closeQuietly(connection);
    LOG.info("released snapshot {} of {}", source.snapshot(), target.redacted());
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // nothing left to do
    }
  }

  public static final class SnapshotException extends Exception {
    public SnapshotException(String message) {
      super(message);
    }

    public SnapshotException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
