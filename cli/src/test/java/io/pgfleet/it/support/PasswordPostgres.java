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
 * runs them as the {@code postgres} user, as PostgreSQL refuses to run as root.
 */
public final class PasswordPostgres implements AutoCloseable {
  public static final String PASSWORD = "Corr3ct-H0rse_pw";
  private final Path dir;
  private final Path bin;
  private final int port;
  private final boolean asPostgres;

  private PasswordPostgres(Path dir, Path bin, int port, boolean asPostgres) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
    this.asPostgres = asPostgres;
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
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir = Files.createTempDirectory("pgfleet-pwpg-");
    Path pw = dir.resolve("pw");
    Files.writeString(pw, PASSWORD + "\n");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    PasswordPostgres pg = new PasswordPostgres(dir, bin, port, root);
    if (root) {
      pg.run(List.of("chown", "-R", "postgres:postgres", dir.toString()), false);
    }
    pg.run(List.of(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", "postgres",
        "--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile=" + pw, "-E", "UTF8", "--locale=C"), true);
    pg.run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-w", "-t", "60",
        "-l", dir.resolve("log").toString(), "-o",
        "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir + " -c fsync=off",
        "start"), true);
    return pg;
  }

  public int port() {
    return port;
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
