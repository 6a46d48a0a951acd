package io.pgfleet.coordinator.fleet;

import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Lists a cluster's databases: all but templates and those that refuse connections. Blocking. */
final class Discovery {
  private Discovery() {}

  /** @param maintenance a connection to the cluster's maintenance database ({@code postgres}) */
  static List<String> databases(PgConnectionInfo maintenance) throws DiscoveryException {
    try (Connection c = DriverManager.getConnection(maintenance.jdbcUrl(),
        maintenance.jdbcProperties("pgfleet-discovery")); Statement st = c.createStatement()) {
      st.setQueryTimeout(30);
      List<String> names = new ArrayList<>();
      try (ResultSet rs = st.executeQuery(
          "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname")) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
      return names;
    } catch (SQLException e) {
      throw new DiscoveryException(PgErrors.describe(e, maintenance));
    }
  }

  static final class DiscoveryException extends Exception {
    DiscoveryException(String message) {
      super(message, null, false, false);
    }
  }
}
