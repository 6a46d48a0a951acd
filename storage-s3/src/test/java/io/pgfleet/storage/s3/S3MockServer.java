package io.pgfleet.storage.s3;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Adobe's S3Mock, a real S3 HTTP server (multipart uploads, ranges, ListObjectsV2 paging, {@code If-None-Match}),
 * run as its own process from the Spring Boot jar that Maven copies into {@code target/s3mock}
 * (system property {@code pgfleet.test.s3mock.jar}). Started by a test class and stopped after it; shared with the
 * CLI's ITs through this module's test-jar. Any access key and secret are accepted.
 */
public final class S3MockServer implements AutoCloseable {
  public static final String JAR_PROPERTY = "pgfleet.test.s3mock.jar";
  public static final String ACCESS_KEY = "pgfleet-test-key";
  public static final String SECRET_KEY = "pgfleet-test-secret";

  private final Process process;
  private final Path root;
  private final Path log;
  private final int port;

  private S3MockServer(Process process, Path root, Path log, int port) {
    this.process = process;
    this.root = root;
    this.log = log;
    this.port = port;
  }

  /**
   * Starts a server holding the given (empty) buckets and waits until it answers. Skips the calling test class,
   * saying why, when the jar is not there (a build that did not run generate-test-resources).
   */
  public static S3MockServer start(String... buckets) throws IOException, InterruptedException {
    String jar = System.getProperty(JAR_PROPERTY);
    assumeTrue(jar != null && Files.isRegularFile(Path.of(jar)), "S3Mock's jar is not at " + JAR_PROPERTY + "="
        + jar + ": run the tests through Maven (it copies com.adobe.testing:s3mock:exec into target/s3mock)");
    int port = freePort();
    Path root = Files.createTempDirectory("pgfleet-s3mock-");
    Path log = Path.of(jar).resolveSibling("s3mock-" + port + ".log");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar,
        "--server.port=0", // the HTTPS connector, unused
        "--com.adobe.testing.s3mock.httpPort=" + port,
        "--com.adobe.testing.s3mock.store.root=" + root,
        "--com.adobe.testing.s3mock.store.initialBuckets=" + String.join(",", buckets),
        "--spring.main.banner-mode=off"));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    S3MockServer server = new S3MockServer(p, root, log, port);
    try {
      server.awaitReady();
    } catch (IOException | InterruptedException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private void awaitReady() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("S3Mock exited with " + process.exitValue() + " before answering; see " + log);
      }
      try {
        HttpURLConnection c = (HttpURLConnection) endpoint().toURL().openConnection();
        c.setConnectTimeout(1000);
        c.setReadTimeout(5000);
        int code = c.getResponseCode(); // GET / lists the buckets
        c.disconnect();
        if (code == 200) {
          return;
        }
      } catch (IOException notYet) {
        // still starting
      }
      Thread.sleep(200);
    }
    throw new IOException("S3Mock did not answer on port " + port + " within 90 s; see " + log);
  }

  /** http://127.0.0.1:PORT, for PGFLEET_S3_ENDPOINT (path-style addressing). */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    if (Files.exists(root)) {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(f);
        }
      }
    }
  }
}
