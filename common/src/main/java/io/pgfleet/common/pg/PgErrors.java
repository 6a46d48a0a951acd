package io.pgfleet.common.pg;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/** Turns connection and server errors into one line that says what is wrong and what to do. */
public final class PgErrors {
  private PgErrors() {}

  public static String describe(SQLException e, PgConnectionInfo target) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    Throwable cause = rootCause(e);
    if (cause instanceof UnknownHostException) {
      return "cannot resolve host '" + target.host() + "': check the host name in the URL";
    }
    if (cause instanceof ConnectException || PSQLState.CONNECTION_UNABLE_TO_CONNECT.getState().equals(state)) {
      return "cannot connect to PostgreSQL at " + target.endpoint() + " (" + oneLine(cause.getMessage())
          + "): is the server running and reachable there?";
    }
    switch (state) {
      case "28P01":
        return "password authentication failed for user '" + target.user() + "' at " + target.endpoint()
            + ": check the password (URL or PGPASSWORD)";
      case "28000":
        return "PostgreSQL at " + target.endpoint() + " refused user '" + target.user() + "': " + serverMessage(e)
            + "; check pg_hba.conf and the user name";
      case "3D000":
        return "database '" + target.database() + "' does not exist on " + target.endpoint()
            + ": check the database name in the URL";
      case "42501":
        if (serverMessage(e).contains("row-level security")) {
          return "row-level security would hide rows from user '" + target.user() + "' on " + target.redacted()
              + " (" + serverMessage(e) + "): back up as the table owner, a superuser, or a role with BYPASSRLS";
        }
        return "permission denied on " + target.redacted() + ": " + serverMessage(e)
            + "; the backup user needs SELECT on every table (or BYPASSRLS and pg_read_all_data)";
      default:
        return "PostgreSQL error on " + target.redacted() + ": " + serverMessage(e) + (state.isEmpty() ? "" : " (SQLSTATE " + state + ")");
    }
  }

  private static String serverMessage(SQLException e) {
    if (e instanceof PSQLException p && p.getServerErrorMessage() != null
        && p.getServerErrorMessage().getMessage() != null) {
      return oneLine(p.getServerErrorMessage().getMessage());
    }
    return oneLine(e.getMessage());
  }

  public static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    return s.replaceAll("\\s*\\R\\s*", " ").trim();
  }

  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }
}
