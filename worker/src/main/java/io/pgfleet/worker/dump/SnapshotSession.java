package io.pgfleet.worker.dump;

import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgIdent;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** A connection inside the run's exported snapshot: what the coordinator's holder sees, this session sees. */
final class SnapshotSession {
  private SnapshotSession() {}

  static Connection open(PgConnectionInfo target, String snapshot, String applicationName) throws SQLException {
    Connection c = DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties(applicationName));
    try {
      Catalog.applyCopySettings(c);
      // Autocommit on and an explicit transaction: SET TRANSACTION SNAPSHOT must be its first statement.
      try (Statement st = c.createStatement()) {
        st.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT "
            + PgIdent.literal(snapshot));
      }
      return c;
    } catch (SQLException e) {
      c.close();
      throw e;
    }
  }

  static void end(Connection c) {
    try (Statement st = c.createStatement()) {
      st.execute("COMMIT");
    } catch (SQLException ignored) {
      // read-only: nothing to lose
    }
  }
}
