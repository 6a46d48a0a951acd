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
    String tls = describeTls(e, cause, target);
    if (tls != null) {
      return tls;
    }
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
        if (serverMessage(e).endsWith("no encryption")) {
          return "PostgreSQL at " + target.endpoint() + " refused a connection without TLS for user '" + target.user()
              + "': " + serverMessage(e) + "; connect with sslmode=verify-full (and sslrootcert) or require";
        }
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

  /**
   * TLS failures, which pgjdbc reports as a generic connection failure ("SSL error: PKIX path building failed",
   * "The hostname ... could not be verified"): say which check failed, against which CA file, and what to do.
   */
  private static String describeTls(SQLException e, Throwable cause, PgConnectionInfo target) {
    String message = e.getMessage() == null ? "" : e.getMessage();
    String sslmode = target.parameter("sslmode").orElse("prefer");
    String rootcert = target.parameter("sslrootcert").orElse("~/.postgresql/root.crt");
    if (message.contains("does not support SSL")) {
      return "PostgreSQL at " + target.endpoint() + " does not accept TLS connections, but sslmode=" + sslmode
          + " requires TLS: turn ssl on in the server's postgresql.conf, or lower sslmode (prefer, disable) if an"
          + " unencrypted connection is acceptable";
    }
    if (message.contains("could not be verified by hostnameverifier")) {
      return "the TLS certificate of PostgreSQL at " + target.endpoint() + " does not name host '" + target.host()
          + "' (sslmode=" + sslmode + "): connect by a name or address its subjectAltName lists, or reissue the"
          + " certificate for this name; sslmode=verify-ca checks the CA only";
    }
    if (message.contains("Could not open SSL root certificate file")
        || message.contains("Could not read SSL root certificate file")) {
      return "cannot read the CA certificate sslrootcert=" + rootcert + " for PostgreSQL at " + target.endpoint()
          + " (sslmode=" + sslmode + "): give a readable PEM file holding the CA that signed the server's certificate";
    }
    if (cause instanceof java.security.cert.CertificateException
        || cause instanceof java.security.cert.CertPathValidatorException
        || cause.getClass().getName().endsWith("SunCertPathBuilderException")
        || message.contains("PKIX path")) {
      return "the TLS certificate of PostgreSQL at " + target.endpoint() + " is not signed by a CA in sslrootcert="
          + rootcert + " (sslmode=" + sslmode + "): give the CA certificate that signed the server's certificate"
          + " as sslrootcert, and check that this is the server you meant";
    }
    if (message.startsWith("SSL error")) {
      return "TLS handshake with PostgreSQL at " + target.endpoint() + " failed (sslmode=" + sslmode + "): "
          + oneLine(message) + "; check the server's ssl settings and sslrootcert";
    }
    return null;
  }

  private static String serverMessage(SQLException e) {
    if (e instanceof PSQLException p && p.getServerErrorMessage() != null
        && p.getServerErrorMessage().getMessage() != null) {
      return oneLine(p.getServerErrorMessage().getMessage());
    }
    return oneLine(e.getMessage());
  }

  /**
   * Whether a failure is the server being out of reach or out of resources for now, so that trying again later
   * may succeed: a connection failure (SQLSTATE class 08), insufficient resources (53: too many connections, out of
   * memory or disk), or a server shutting down or starting up (57P01, 57P02, 57P03). Walks the causes.
   */
  public static boolean isTransient(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof java.sql.SQLException s && s.getSQLState() != null) {
        String state = s.getSQLState();
        return state.startsWith("08") || state.startsWith("53") || state.equals("57P01") || state.equals("57P02")
            || state.equals("57P03");
      }
    }
    return false;
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
