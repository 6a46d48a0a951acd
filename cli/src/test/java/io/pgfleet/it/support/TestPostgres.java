package io.pgfleet.it.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The one place integration tests get PostgreSQL from.
 *
 * <p>The server is named by the env var {@code PGFLEET_TEST_PG}, a libpq-style URL such as
 * {@code postgresql://user:secret@127.0.0.1:5432/postgres}; the database in that URL is the
 * maintenance database used to create and drop test databases. The password is never part of
 * {@link #toString()}, {@link #jdbcUrl(String)} or any exception message.
 */
public final class TestPostgres {

    public static final String ENV_VAR = "PGFLEET_TEST_PG";
    public static final String DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int MAX_IDENTIFIER_BYTES = 63;

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String maintenanceDb;
    private final String rawQuery;

    private TestPostgres(String host, int port, String user, String password, String maintenanceDb, String rawQuery) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.maintenanceDb = maintenanceDb;
        this.rawQuery = rawQuery;
    }

    private static final class Holder {
        static final TestPostgres INSTANCE = fromUrl(
                Optional.ofNullable(System.getenv(ENV_VAR)).filter(s -> !s.isBlank()).orElse(DEFAULT_URL));
    }

    /** The server named by {@code PGFLEET_TEST_PG} (or the local default). */
    public static TestPostgres get() {
        return Holder.INSTANCE;
    }

    /** Parses a single-host libpq URL ({@code postgresql://} or {@code postgres://}); visible for tests. */
    static TestPostgres fromUrl(String url) {
        String rest = url.strip();
        if (rest.startsWith("postgresql://")) {
            rest = rest.substring("postgresql://".length());
        } else if (rest.startsWith("postgres://")) {
            rest = rest.substring("postgres://".length());
        } else {
            // never echo the URL: it may hold a password
            throw new IllegalArgumentException(ENV_VAR + " must start with postgresql:// or postgres://");
        }
        String rawQuery = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            rawQuery = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        String rawPath = slash < 0 ? "" : rest.substring(slash + 1);

        String user = "postgres";
        String password = null;
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = authority.substring(0, at);
            int colon = userInfo.indexOf(':');
            String rawUser = colon < 0 ? userInfo : userInfo.substring(0, colon);
            if (!rawUser.isEmpty()) {
                user = percentDecode(rawUser);
            }
            if (colon >= 0) {
                password = percentDecode(userInfo.substring(colon + 1));
            }
            authority = authority.substring(at + 1);
        }

        String host;
        String rawPort = "";
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException(ENV_VAR + " has an unterminated [IPv6] host");
            }
            host = authority.substring(1, close);
            rawPort = authority.substring(close + 1);
        } else {
            int colon = authority.lastIndexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
            rawPort = colon < 0 ? "" : authority.substring(colon);
        }
        host = host.isEmpty() ? "127.0.0.1" : percentDecode(host);
        int port = 5432;
        if (rawPort.startsWith(":") && rawPort.length() > 1) {
            try {
                port = Integer.parseInt(rawPort.substring(1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(ENV_VAR + " has a non-numeric port");
            }
        }
        String db = rawPath.isEmpty() ? user : percentDecode(rawPath);
        return new TestPostgres(host, port, user, password, db, rawQuery);
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

    public Optional<String> password() {
        return Optional.ofNullable(password);
    }

    /** libpq-style URL for database {@code db}, with the same credentials and query parameters. */
    public String url(String db) {
        StringBuilder sb = new StringBuilder("postgresql://").append(percentEncode(user));
        if (password != null) {
            sb.append(':').append(percentEncode(password));
        }
        sb.append('@').append(hostForUrl()).append(':').append(port).append('/').append(percentEncode(db));
        if (rawQuery != null && !rawQuery.isEmpty()) {
            sb.append('?').append(rawQuery);
        }
        return sb.toString();
    }

    /** JDBC URL for database {@code db}; carries no credentials (see {@link #connect(String)}). */
    public String jdbcUrl(String db) {
        return "jdbc:postgresql://" + hostForUrl() + ":" + port + "/" + percentEncode(db);
    }

    public Connection connect(String db) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("ApplicationName", "pgfleet-tests");
        return DriverManager.getConnection(jdbcUrl(db), props);
    }

    /** Creates an empty UTF8 database from template0, dropping (and disconnecting) any previous one. */
    public void createDatabase(String name) throws SQLException {
        try (Connection c = connect(maintenanceDb); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)");
            st.execute("CREATE DATABASE " + quoteIdent(name) + " TEMPLATE template0 ENCODING 'UTF8'");
        }
    }

    public void dropDatabase(String name) throws SQLException {
        try (Connection c = connect(maintenanceDb); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)");
        }
    }

    /** Runs a UTF-8 SQL script from the classpath as one multi-statement string. */
    public void runSqlResource(String db, String classpathResource) throws SQLException {
        String sql = readResource(classpathResource);
        try (Connection c = connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** A fresh lowercase database name: {@code prefix_} plus 8 random hex digits, within 63 bytes. */
    public String uniqueDbName(String prefix) {
        byte[] bytes = new byte[4];
        RANDOM.nextBytes(bytes);
        String suffix = "_" + HexFormat.of().formatHex(bytes);
        String base = prefix.toLowerCase(Locale.ROOT);
        while (base.getBytes(StandardCharsets.UTF_8).length + suffix.length() > MAX_IDENTIFIER_BYTES) {
            base = base.substring(0, base.offsetByCodePoints(base.length(), -1));
        }
        return base + suffix;
    }

    /** Environment for psql / pg_dump subprocesses, so no password ever shows up on a command line. */
    public Map<String, String> libpqEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGHOST", host);
        env.put("PGPORT", Integer.toString(port));
        env.put("PGUSER", user);
        if (password != null) {
            env.put("PGPASSWORD", password);
        }
        return env;
    }

    @Override
    public String toString() {
        return "TestPostgres[" + user + (password != null ? ":***" : "") + "@" + hostForUrl() + ":" + port
                + "/" + maintenanceDb + "]";
    }

    static String quoteIdent(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private String hostForUrl() {
        return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    }

    private static String readResource(String classpathResource) {
        String path = classpathResource.startsWith("/") ? classpathResource.substring(1) : classpathResource;
        ClassLoader loader = Optional.ofNullable(Thread.currentThread().getContextClassLoader())
                .orElse(TestPostgres.class.getClassLoader());
        try (InputStream in = loader.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("classpath resource not found: " + classpathResource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read classpath resource " + classpathResource, e);
        }
    }

    /** RFC 3986 encoding: everything but unreserved characters, as UTF-8 bytes. */
    static String percentEncode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append(c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    /** Percent-decoding without URLDecoder's form semantics ('+' stays '+'). */
    static String percentDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (cp == '%' && i + 2 < s.length()) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 3;
            } else {
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(cp);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
