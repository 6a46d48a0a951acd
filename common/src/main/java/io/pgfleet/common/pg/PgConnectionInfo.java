package io.pgfleet.common.pg;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Where and as whom to connect to PostgreSQL, parsed from a libpq-style URL
 * ({@code postgresql://user[:password]@host[:port]/database[?sslmode=...]}).
 *
 * <p>The password is held here and nowhere else: {@link #toString()} and {@link #redacted()} never show it, JDBC
 * gets it as a property and subprocesses as {@code PGPASSWORD}, so it never reaches a command line, a task, an
 * event or a log line.
 */
public final class PgConnectionInfo {
  private static final Set<String> PASSED_PARAMETERS =
      Set.of("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name");

  private final String host;
  private final int port;
  private final String user;
  private final String password;
  private final String database;
  private final Map<String, String> parameters;

  public PgConnectionInfo(String host, int port, String user, String password, String database,
      Map<String, String> parameters) {
    this.host = host;
    this.port = port;
    this.user = user;
    this.password = password;
    this.database = database;
    this.parameters = Map.copyOf(parameters);
  }

  /** Parses a URL; the message of the exception names what is wrong and never echoes the password. */
  public static PgConnectionInfo parse(String url) {
    if (url == null || url.isBlank()) {
      throw new InvalidPgUrlException("empty PostgreSQL URL; expected postgresql://user@host:port/database");
    }
    String rest;
    if (url.startsWith("postgresql://")) {
      rest = url.substring("postgresql://".length());
    } else if (url.startsWith("postgres://")) {
      rest = url.substring("postgres://".length());
    } else {
      throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url)
          + "': it must start with postgresql://, e.g. postgresql://user@host:5432/database");
    }
    // User info first, up to the last '@': a password someone forgot to percent-encode may hold '@', '/' or
    // '?', and must neither break the parse into the host nor turn up in a message about it.
    String userInfo = null;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      userInfo = rest.substring(0, at);
      rest = rest.substring(at + 1);
    }
    String query = "";
    int q = rest.indexOf('?');
    if (q >= 0) {
      query = rest.substring(q + 1);
      rest = rest.substring(0, q);
    }
    String path = "";
    int slash = rest.indexOf('/');
    if (slash >= 0) {
      path = rest.substring(slash + 1);
      rest = rest.substring(0, slash);
    }
    if (rest.contains(",")) {
      throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url)
          + "': several hosts are not supported; name the primary (or the standby to dump from)");
    }
    String user = null;
    String password = null;
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      user = decode(colon >= 0 ? userInfo.substring(0, colon) : userInfo, url);
      password = colon >= 0 ? decode(userInfo.substring(colon + 1), url) : null;
    }
    String host;
    int port = 5432;
    if (rest.startsWith("[")) {
      int close = rest.indexOf(']');
      if (close < 0) {
        throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url) + "': unclosed [ in the host");
      }
      host = rest.substring(1, close);
      String after = rest.substring(close + 1);
      if (after.startsWith(":")) {
        port = parsePort(after.substring(1), url);
      }
    } else {
      int colon = rest.lastIndexOf(':');
      host = colon >= 0 ? rest.substring(0, colon) : rest;
      if (colon >= 0) {
        port = parsePort(rest.substring(colon + 1), url);
      }
    }
    if (host.isEmpty()) {
      throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url)
          + "': no host; expected postgresql://user@host:port/database");
    }
    if (host.contains(",")) {
      throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url)
          + "': several hosts are not supported; name the primary (or the standby to dump from)");
    }
    Map<String, String> params = new LinkedHashMap<>();
    if (!query.isEmpty()) {
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        String key = decode(eq >= 0 ? pair.substring(0, eq) : pair, url);
        String value = eq >= 0 ? decode(pair.substring(eq + 1), url) : "";
        switch (key) {
          case "user" -> user = value;
          case "password" -> password = value;
          case "dbname" -> path = value;
          case "port" -> port = parsePort(value, url);
          default -> {
            if (!PASSED_PARAMETERS.contains(key)) {
              throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url) + "': unsupported parameter '"
                  + key + "'; supported: user, password, dbname, port, " + String.join(", ", PASSED_PARAMETERS));
            }
            params.put(key, value);
          }
        }
      }
    }
    if (user == null || user.isEmpty()) {
      user = Optional.ofNullable(System.getenv("PGUSER")).orElse(System.getProperty("user.name"));
    }
    if (password == null) {
      password = System.getenv("PGPASSWORD");
    }
    String database = decode(path, url);
    if (database.isEmpty()) {
      database = user;
    }
    return new PgConnectionInfo(host, port, user, password, database, params);
  }

  private static int parsePort(String text, String url) {
    try {
      int port = Integer.parseInt(text);
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url) + "': port '" + text
          + "' is not a number between 1 and 65535");
    }
  }

  private static String decode(String s, String url) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new InvalidPgUrlException("invalid PostgreSQL URL '" + redactUrl(url) + "': bad percent-encoding");
    }
  }

  /** The URL with any password replaced, fit for an error message. */
  public static String redactUrl(String url) {
    if (url == null) {
      return "";
    }
    String r = url;
    int scheme = r.indexOf("://");
    int at = r.lastIndexOf('@');
    if (scheme >= 0 && at > scheme) {
      String userInfo = r.substring(scheme + 3, at);
      int colon = userInfo.indexOf(':');
      if (colon >= 0) {
        r = r.substring(0, scheme + 3) + userInfo.substring(0, colon) + ":***" + r.substring(at);
      }
    }
    return r.replaceAll("([?&]password=)[^&]*", "$1***");
  }

  public PgConnectionInfo withDatabase(String db) {
    return new PgConnectionInfo(host, port, user, password, db, parameters);
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String user() {
    return user;
  }

  public String database() {
    return database;
  }

  /** A libpq parameter the URL gave (sslmode, sslrootcert, ...), never the password. */
  public Optional<String> parameter(String name) {
    return Optional.ofNullable(parameters.get(name));
  }

  public boolean hasPassword() {
    return password != null;
  }

  public String jdbcUrl() {
    String h = host.contains(":") ? "[" + host + "]" : host;
    // A host that starts with '/' is a Unix socket directory in libpq; pgjdbc needs the socket factory for that,
    // which we do not ship: say so instead of failing obscurely.
    if (host.startsWith("/")) {
      throw new InvalidPgUrlException("Unix-socket hosts ('" + host + "') are not supported; use host:port over TCP");
    }
    return "jdbc:postgresql://" + h + ":" + port + "/" + java.net.URLEncoder.encode(database, StandardCharsets.UTF_8)
        .replace("+", "%20");
  }

  public Properties jdbcProperties(String applicationName) {
    Properties p = new Properties();
    p.setProperty("user", user);
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("ApplicationName", parameters.getOrDefault("application_name", applicationName));
    p.setProperty("connectTimeout", parameters.getOrDefault("connect_timeout", "10"));
    p.setProperty("tcpKeepAlive", "true");
    // pgfleet moves bulk data with COPY; the server-side prepared statement cache only adds noise here.
    p.setProperty("prepareThreshold", "0");
    for (String k : new String[] {"sslmode", "sslrootcert", "sslcert", "sslkey"}) {
      if (parameters.containsKey(k)) {
        p.setProperty(k, parameters.get(k));
      }
    }
    if (!parameters.containsKey("sslmode")) {
      p.setProperty("sslmode", "prefer");
    }
    return p;
  }

  /** The environment for pg_dump, pg_restore and psql: the password travels here, never on the command line. */
  public Map<String, String> libpqEnvironment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PGHOST", host);
    env.put("PGPORT", Integer.toString(port));
    env.put("PGUSER", user);
    env.put("PGDATABASE", database);
    if (password != null) {
      env.put("PGPASSWORD", password);
    }
    if (parameters.containsKey("sslmode")) {
      env.put("PGSSLMODE", parameters.get("sslmode"));
    }
    if (parameters.containsKey("sslrootcert")) {
      env.put("PGSSLROOTCERT", parameters.get("sslrootcert"));
    }
    if (parameters.containsKey("sslcert")) {
      env.put("PGSSLCERT", parameters.get("sslcert"));
    }
    if (parameters.containsKey("sslkey")) {
      env.put("PGSSLKEY", parameters.get("sslkey"));
    }
    env.put("PGAPPNAME", "pgfleet");
    return env;
  }

  /** host:port, for messages. */
  public String endpoint() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** user@host:port/database, without the password: what messages and logs may show. */
  public String redacted() {
    return user + "@" + endpoint() + "/" + database;
  }

  @Override
  public String toString() {
    return redacted();
  }
}
