package io.pgfleet.common.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgfleet.common.metrics.MetricNames;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resilience layer: which failures are transient, retries with backoff counted per backend, and the
 * repository's circuit (opens after failures in a row, fails fast naming the repository and the last error, is
 * shared by every wrapper of the repository, and closes after a successful probe).
 */
class ResilientStorageTest {
  private static final String RESET = "injected: Connection reset by peer";

  @TempDir Path tmp;
  private SimpleMeterRegistry meters;
  private Flaky flaky;

  @BeforeEach
  void setUp() throws Exception {
    meters = new SimpleMeterRegistry();
    Metrics.addRegistry(meters);
    flaky = new Flaky(FileSystemStorage.open(tmp.resolve("repo")));
  }

  @AfterEach
  void tearDown() {
    Metrics.removeRegistry(meters);
  }

  @Test
  void connectionTroubleIsTransientAndDefiniteAnswersAreNot() {
    assertThat(StorageFailures.classify(new IOException("Connection reset by peer"))).isEqualTo(transientKind());
    assertThat(StorageFailures.classify(new SocketTimeoutException("Read timed out"))).isEqualTo(transientKind());
    assertThat(StorageFailures.classify(new UncheckedIOException(new IOException("Stale file handle"))))
        .isEqualTo(transientKind());
    // A backend's StorageException wrapping an HTTP 503 after its own retries: the repository may come back.
    assertThat(StorageFailures.classify(new StorageException("repository gs://b/p: list failed (503 Service"
        + " Unavailable); check the network", new RuntimeException("503 Service Unavailable"))))
        .isEqualTo(transientKind());

    assertThat(StorageFailures.classify(new IOException("No space left on device"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new FileSystemException("/r/x", null, "Read-only file system")))
        .isEqualTo(definite());
    assertThat(StorageFailures.classify(new IOException("Disk quota exceeded"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new AccessDeniedException("/r/x"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new IOException("write failed", new IOException("Permission denied"))))
        .isEqualTo(definite());
    assertThat(StorageFailures.classify(new NoSuchFileException("/r/x"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new StorageException("repository gs://b/p: list failed (403 Forbidden);"
        + " give credentials with access to the bucket"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new StorageException("object a/b is missing from repository /r")))
        .isEqualTo(definite());
    assertThat(StorageFailures.classify(new StorageException("invalid object key '../x'"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new RepositoryUnavailableException("repository /r is unavailable")))
        .isEqualTo(definite());
    assertThat(StorageFailures.classify(new IllegalArgumentException("negative offset"))).isEqualTo(definite());
    assertThat(StorageFailures.classify(new NullPointerException())).isEqualTo(definite());
  }

  @Test
  void transientFailuresAreRetriedWithBackoffAndCounted() throws Exception {
    Storage s = ResilientStorage.wrap(flaky, settings(5, 100, 10, 1000));
    flaky.failNext(new IOException(RESET), new IOException(RESET));
    long started = System.nanoTime();
    assertThat(s.stat("a/b")).isEmpty();
    long millis = (System.nanoTime() - started) / 1_000_000;
    assertThat(flaky.calls.get()).isEqualTo(3);
    // Waits of 100 ms and 200 ms, each jittered by up to half.
    assertThat(millis).isGreaterThanOrEqualTo(150);
    assertThat(ResilientStorage.retries(flaky.describe())).isEqualTo(2);
    assertThat(meters.find(MetricNames.STORAGE_RETRIES).tag("backend", "fs").counter().count()).isEqualTo(2.0);
  }

  @Test
  void aCommitIsRetriedAsAWholeCall() throws Exception {
    Storage s = ResilientStorage.wrap(flaky, settings(3, 10, 10, 1000));
    try (ObjectWriter w = s.create("a/b")) {
      w.write("hello".getBytes(StandardCharsets.UTF_8));
      flaky.failNext(new IOException(RESET));
      w.commit();
    }
    try (InputStream in = s.open("a/b")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello");
    }
    assertThat(ResilientStorage.retries(flaky.describe())).isEqualTo(1);
  }

  @Test
  void aFullDiskIsNotRetriedAndFailsNamingTheRepository() throws Exception {
    Storage s = ResilientStorage.wrap(flaky, settings(5, 10, 3, 1000));
    for (int i = 0; i < 5; i++) {
      flaky.failNext(new IOException("No space left on device"));
      Throwable e = catchThrowable(() -> s.createIfAbsent("a/m", new byte[] {1}));
      assertThat(e).isInstanceOf(StorageException.class)
          .hasMessage("repository " + flaky.describe() + ": create a/m failed: No space left on device");
    }
    assertThat(flaky.calls.get()).isEqualTo(5);
    assertThat(ResilientStorage.retries(flaky.describe())).isZero();
    assertThat(ResilientStorage.circuitState(flaky.describe())).as("a definite answer proves the repository there")
        .isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void retriesRunningOutSayHowManyAttemptsFailed() throws Exception {
    Storage s = ResilientStorage.wrap(flaky, settings(3, 10, 100, 1000));
    flaky.failNext(new IOException(RESET), new IOException(RESET), new IOException(RESET));
    assertThat(catchThrowable(() -> s.list("a/"))).isInstanceOf(StorageException.class)
        .hasMessage("repository " + flaky.describe() + ": list a/ failed after 3 attempts: " + RESET);
  }

  @Test
  void theCircuitOpensFailsFastForEveryUserAndAProbeClosesIt() throws Exception {
    Storage s = ResilientStorage.wrap(flaky, settings(2, 10, 4, 400));
    Storage other = ResilientStorage.wrap(flaky, ResilientStorage.Settings.DEFAULT); // same repository: same circuit
    double openBefore = circuitsOpen();
    flaky.failAlways(new IOException(RESET));
    // Two calls of two attempts each: four transient failures in a row.
    for (int i = 0; i < 2; i++) {
      assertThat(catchThrowable(() -> s.stat("k"))).hasMessageContaining("failed after 2 attempts");
    }
    assertThat(ResilientStorage.circuitState(flaky.describe())).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(circuitsOpen()).isEqualTo(openBefore + 1);
    int calls = flaky.calls.get();

    Throwable fast = catchThrowable(() -> other.open("k"));
    assertThat(fast).isInstanceOf(RepositoryUnavailableException.class).hasMessageMatching(
        "repository " + java.util.regex.Pattern.quote(flaky.describe()) + " is unavailable \\(circuit open after 4"
        + " failures in a row; retrying in 1s\\): " + RESET);
    assertThat(flaky.calls.get()).as("no call reaches the repository while open").isEqualTo(calls);
    assertThat(StorageFailures.classify(fast)).isEqualTo(definite());

    flaky.heal();
    Thread.sleep(600);
    assertThat(s.stat("k")).isEqualTo(Optional.empty()); // the probe
    assertThat(ResilientStorage.circuitState(flaky.describe())).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(circuitsOpen()).isEqualTo(openBefore);
    assertThat(other.list("")).isEmpty();
  }

  @Test
  void aFailedProbeOpensTheCircuitAgain() throws Exception {
    Storage s = ResilientStorage.wrap(flaky, settings(1, 10, 2, 300));
    flaky.failAlways(new IOException(RESET));
    catchThrowable(() -> s.stat("k"));
    catchThrowable(() -> s.stat("k"));
    assertThat(ResilientStorage.circuitState(flaky.describe())).isEqualTo(CircuitBreaker.State.OPEN);
    Thread.sleep(450);
    assertThat(catchThrowable(() -> s.stat("k"))).as("the probe").isNotInstanceOf(
        RepositoryUnavailableException.class).hasMessageContaining(RESET);
    assertThat(ResilientStorage.circuitState(flaky.describe())).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(catchThrowable(() -> s.stat("k"))).isInstanceOf(RepositoryUnavailableException.class);
  }

  @Test
  void theBackendTagNeverCarriesTheBucketOrPath() {
    assertThat(ResilientStorage.backendOf("gs://bucket/prefix")).isEqualTo("gcs");
    assertThat(ResilientStorage.backendOf("s3://bucket/prefix")).isEqualTo("s3");
    assertThat(ResilientStorage.backendOf("/var/backups/pgfleet")).isEqualTo("fs");
  }

  private double circuitsOpen() {
    return meters.find(MetricNames.STORAGE_CIRCUIT_OPEN).tag("backend", "fs").gauge().value();
  }

  private static StorageFailures.Kind transientKind() {
    return StorageFailures.Kind.TRANSIENT;
  }

  private static StorageFailures.Kind definite() {
    return StorageFailures.Kind.DEFINITE;
  }

  private static ResilientStorage.Settings settings(int attempts, long firstBackoffMs, int failuresToOpen,
      long openForMs) {
    return new ResilientStorage.Settings(attempts, Duration.ofMillis(firstBackoffMs), Duration.ofSeconds(1),
        failuresToOpen, Duration.ofMillis(openForMs), 1);
  }

  /** The real directory, with failures injected ahead of calls (stat, list, open, createIfAbsent, commit). */
  private static final class Flaky implements Storage {
    private final Storage real;
    private final Deque<IOException> next = new ArrayDeque<>();
    private volatile IOException always;
    final AtomicInteger calls = new AtomicInteger();

    Flaky(Storage real) {
      this.real = real;
    }

    synchronized void failNext(IOException... failures) {
      next.addAll(List.of(failures));
    }

    void failAlways(IOException e) {
      always = e;
    }

    void heal() {
      always = null;
    }

    private synchronized void maybeFail() throws IOException {
      calls.incrementAndGet();
      if (always != null) {
        throw always;
      }
      IOException e = next.poll();
      if (e != null) {
        throw e;
      }
    }

    @Override
    public ObjectWriter create(String key) throws IOException {
      ObjectWriter w = real.create(key);
      return new ForwardingObjectWriter(w) {
        @Override
        public void commit() throws IOException {
          maybeFail();
          w.commit();
        }
      };
    }

    @Override
    public InputStream open(String key) throws IOException {
      maybeFail();
      return real.open(key);
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
      maybeFail();
      return real.open(key, offset);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
      maybeFail();
      return real.stat(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
      maybeFail();
      return real.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
      maybeFail();
      real.delete(key);
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
      maybeFail();
      return real.createIfAbsent(key, content);
    }

    @Override
    public String describe() {
      return real.describe();
    }
  }
}
