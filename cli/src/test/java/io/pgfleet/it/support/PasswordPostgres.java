package io.pgfleet.it.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster that demands a SCRAM password over TCP, for the tests that need a wrong password
 * to be refused (the shared test server trusts 127.0.0.1). Built with the system's initdb and pg_ctl; as root it
 * runs them as the {@code postgres} user, as PostgreSQL refuses to run as root. With {@link Tls} it serves TLS
 * with the given certificate and accepts TCP connections over TLS only ({@code hostssl} in pg_hba.conf).
 */
public final class PasswordPostgres implements AutoCloseable {
  public static final String PASSWORD = "Corr3ct-H0rse_pw";
  private final Path dir;
  private final Path bin;
  private final int port;
  private final boolean asPostgres;
  private final String password;

  /**
   * The server's certificate and key (PEM), and the addresses it listens on (comma-separated, loopback only).
   */
  public record Tls(Path certFile, Path keyFile, String listenAddresses) {}

  private PasswordPostgres(Path dir, Path bin, int port, boolean asPostgres, String password) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
    this.asPostgres = asPostgres;
    this.password = password;
  }

  /** Empty when no initdb is installed (the test that needs it is then skipped, saying why). */
  public static Optional<Path> findBinDir() {
    Path debian = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(debian)) {
      return Optional.empty();
    }
    try (Stream<Path> s = Files.list(debian)) {
      return s.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
          .max(Comparator.naturalOrder());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  public static PasswordPostgres start(Path bin) throws Exception {
    return start(bin, PASSWORD, null);
  }

  /** A server whose {@code postgres} role has {@code password}; with {@code tls}, reachable over TLS only. */
  public static PasswordPostgres start(Path bin, String password, Tls tls) throws Exception {
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir = Files.createTempDirectory("pgfleet-pwpg-");
    Path pw = dir.resolve("pw");
    Files.writeString(pw, password + "\n");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    PasswordPostgres pg = new PasswordPostgres(dir, bin, port, root, password);
    if (root) {
      pg.run(List.of("chown", "-R", "postgres:postgres", dir.toString()), false);
    }
    Path data = dir.resolve("data");
    pg.run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres",
        "--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile=" + pw, "-E", "UTF8", "--locale=C"), true);
    Files.delete(pw);
    String options = "-p " + port + " -c unix_socket_directories=" + dir + " -c fsync=off";
    if (tls == null) {
      options += " -c listen_addresses=127.0.0.1";
    } else {
      // The key must belong to the server's user and be private to it, or PostgreSQL refuses to start.
      Files.copy(tls.certFile(), data.resolve("server.crt"));
      Files.copy(tls.keyFile(), data.resolve("server.key"));
      Files.setPosixFilePermissions(data.resolve("server.key"),
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      Files.writeString(data.resolve("pg_hba.conf"), "local all all trust\n"
          + "hostssl all all 127.0.0.0/8 scram-sha-256\n"
          + "hostnossl all all 127.0.0.0/8 reject\n");
      if (root) {
        pg.run(List.of("chown", "postgres:postgres", data.resolve("server.crt").toString(),
            data.resolve("server.key").toString(), data.resolve("pg_hba.conf").toString()), false);
      }
      options += " -c listen_addresses=" + tls.listenAddresses() + " -c ssl=on -c ssl_cert_file=server.crt"
          + " -c ssl_key_file=server.key";
    }
    pg.run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-t", "60",
        "-l", dir.resolve("log").toString(), "-o", options, "start"), true);
    return pg;
  }

  public int port() {
    return port;
  }

  /**
   * This server as the ITs' handle, connecting as {@code postgres} with the password to {@code host}; {@code query}
   * (such as {@code sslmode=verify-full&sslrootcert=...}) is added to every URL it gives, null for none.
   */
  public TestPostgres handle(String host, String query) {
    return TestPostgres.fromUrl("postgresql://postgres:" + TestPostgres.percentEncode(password) + "@" + host + ":"
        + port + "/postgres" + (query == null ? "" : "?" + query));
  }

  private void run(List<String> cmd, boolean maybeAsPostgres) throws Exception {
    List<String> full = new ArrayList<>();
    if (maybeAsPostgres && asPostgres) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(cmd);
    Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("command failed: " + String.join(" ", full) + "\n" + out);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate",
          "-w", "stop"), true);
    } finally {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
