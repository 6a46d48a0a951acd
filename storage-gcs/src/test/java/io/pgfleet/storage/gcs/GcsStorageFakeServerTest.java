package io.pgfleet.storage.gcs;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.api.gax.retrying.RetrySettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageContract;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The whole storage contract, every case included (commit-if-absent and the concurrent commit race among them),
 * against GcsStorage over real HTTP: the real google-cloud-storage client, configured as GcsStorage configures it
 * for an emulator, talks to {@link FakeGcsServer}. Then what the contract cannot show: transient failures over HTTP
 * retried to an exact result, a 412 on the manifest commit, and paging.
 *
 * <p>The contract runs with the client built exactly as GcsStorage builds it for an emulator, the client's own
 * retries kept at their defaults (as in production). The fault tests keep the client's retries too, but set how many
 * attempts it makes and make its backoff 1 ms, so that a test decides which layer absorbs a fault: the client
 * (resumable chunks, media downloads) or, once the client has given up, GcsStorage's own retry
 * ({@code pgfleet.storage.retries{backend=gcs}}).
 */
class GcsStorageFakeServerTest extends StorageContract {
  private static final String BUCKET = "pgfleet-test";
  private static final GcsRetry.Settings FAST = new GcsRetry.Settings(4, Duration.ofMillis(1), Duration.ofMillis(5));
  private static FakeGcsServer server;
  private com.google.cloud.storage.Storage service;
  private final List<com.google.cloud.storage.Storage> faultClients = new ArrayList<>();
  private SimpleMeterRegistry meters;

  @BeforeAll
  static void startServer() throws IOException {
    server = FakeGcsServer.start().createBucket(BUCKET);
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void meters() {
    meters = new SimpleMeterRegistry();
    Metrics.addRegistry(meters);
  }

  @Override
  protected Storage createStorage() {
    server.clear();
    service = server.options().getService();
    return GcsStorage.on(service, new GcsLocation(BUCKET, "repo/" + UUID.randomUUID()),
        GcsStorage.Options.defaults().withListPageSize(7).withRetry(FAST.maxAttempts(), FAST.firstBackoff(),
            FAST.maxBackoff()));
  }

  @Override
  protected int pagingKeyCount() {
    return 30;
  }

  @AfterEach
  void noUnhandledRequestsAndClose() throws Exception {
    Metrics.removeRegistry(meters);
    if (service != null) {
      service.close();
    }
    for (com.google.cloud.storage.Storage c : faultClients) {
      c.close();
    }
    assertThat(server.unhandled()).as("requests the fake server does not implement").isEmpty();
  }

  /** A repository whose client makes {@code attempts} attempts per call, 1 ms apart. */
  private GcsStorage withClientAttempts(int attempts) {
    return withClientAttempts(attempts,
        GcsStorage.Options.defaults().withRetry(FAST.maxAttempts(), FAST.firstBackoff(), FAST.maxBackoff()));
  }

  private GcsStorage withClientAttempts(int attempts, GcsStorage.Options options) {
    RetrySettings fast = server.options().getRetrySettings().toBuilder().setMaxAttempts(attempts)
        .setInitialRetryDelay(org.threeten.bp.Duration.ofMillis(1))
        .setMaxRetryDelay(org.threeten.bp.Duration.ofMillis(5)).build();
    com.google.cloud.storage.Storage client = server.options().toBuilder().setRetrySettings(fast).build().getService();
    faultClients.add(client);
    return GcsStorage.on(client, new GcsLocation(BUCKET, "faults/" + UUID.randomUUID()), options);
  }

  private double retriesCounted() {
    Counter c = meters.find("pgfleet.storage.retries").tag("backend", "gcs").counter();
    return c == null ? 0 : c.count();
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** A PUT of a resumable session carrying bytes from {@code offset} on. */
  private static Predicate<FakeGcsServer.RequestLine> chunkFrom(long offset) {
    return r -> r.isResumableChunk()
        && String.valueOf(r.headers().getFirst("Content-Range")).startsWith("bytes " + offset + "-");
  }

  @Test
  void aTransient503OnAResumableChunkIsRetriedAndTheObjectIsExact() throws IOException {
    int chunk = 256 * 1024; // the smallest chunk GCS allows: this object is four of them
    GcsStorage s = withClientAttempts(3, new GcsStorage.Options(chunk, 1000, FAST));
    byte[] data = random(3 * chunk + 1000, 1);
    server.failNext(1, FakeGcsServer.Fault.UNAVAILABLE, chunkFrom(chunk));
    server.failNext(1, FakeGcsServer.Fault.RESET, chunkFrom(2L * chunk));
    try (ObjectWriter w = s.create("a/big")) {
      w.write(data);
      w.commit();
    }
    assertThat(server.injectedFailures()).as("both faults hit an upload chunk: %s", server.requests()).isEqualTo(2);
    try (InputStream in = s.open("a/big")) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }
    assertThat(server.requests()).as("after the 503 and the reset the client asked what GCS had persisted")
        .filteredOn(r -> r.isResumableChunk() && "bytes */*".equals(r.headers().getFirst("Content-Range")))
        .hasSizeGreaterThanOrEqualTo(2);
    // Chunks are the client's to resume (GcsStorage does not retry inside a stream): pgfleet's counter stays.
    assertThat(s.retryCount()).isZero();
    assertThat(retriesCounted()).isZero();
  }

  @Test
  void aTransient503OnAReadIsRetriedAndTheBytesAreExact() throws IOException {
    GcsStorage s = withClientAttempts(2);
    byte[] data = random(300_000, 2);
    try (ObjectWriter w = s.create("r/obj")) {
      w.write(data);
      w.commit();
    }
    // The lookup before a read fails on both of the client's attempts: pgfleet's own retry takes the call again.
    server.failNext(2, FakeGcsServer.Fault.UNAVAILABLE, FakeGcsServer.RequestLine::isMetadataRead);
    // The media download fails once, with no answer: the client resumes it from the byte it had reached.
    server.failNext(1, FakeGcsServer.Fault.RESET, FakeGcsServer.RequestLine::isMediaRead);
    double before = retriesCounted();
    try (InputStream in = s.open("r/obj", 12_345)) {
      assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOfRange(data, 12_345, data.length));
    }
    assertThat(server.injectedFailures()).isEqualTo(3);
    assertThat(s.retryCount()).isEqualTo(1);
    assertThat(retriesCounted() - before).as("pgfleet.storage.retries{backend=gcs}").isEqualTo(1.0);
  }

  @Test
  void a503OnTheManifestCommitIsRetriedAndItsOwnWriteIsRecognised() throws IOException {
    GcsStorage s = withClientAttempts(1);
    byte[] manifest = "{\"backup\":\"b1\"}".getBytes(StandardCharsets.UTF_8);
    server.failNext(1, FakeGcsServer.Fault.UNAVAILABLE, r -> r.method().equals("POST")
        && r.path().startsWith("/upload/"));
    assertThat(s.createIfAbsent("c/d/b1/manifest.json", manifest)).isTrue();
    assertThat(s.retryCount()).isEqualTo(1);
    assertThat(retriesCounted()).isEqualTo(1.0);
    try (InputStream in = s.open("c/d/b1/manifest.json")) {
      assertThat(in.readAllBytes()).isEqualTo(manifest);
    }
  }

  @Test
  void a412OnTheManifestCommitReturnsFalse() throws IOException {
    GcsStorage s = withClientAttempts(3);
    try (ObjectWriter w = s.create("c/d/b2/manifest.json")) {
      w.write("theirs".getBytes(StandardCharsets.UTF_8));
      w.commit();
    }
    int before = server.requests().size();
    assertThat(s.createIfAbsent("c/d/b2/manifest.json", "ours".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(server.requests().subList(before, server.requests().size()))
        .as("one conditional insert, answered 412, not retried")
        .filteredOn(r -> r.method().equals("POST")).hasSize(1)
        .allMatch(r -> "0".equals(r.query().get("ifGenerationMatch")));
    assertThat(s.retryCount()).isZero();
    try (InputStream in = s.open("c/d/b2/manifest.json")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("theirs");
    }
  }

  @Test
  void listingMoreObjectsThanOnePageReturnsAllOfThem() throws IOException {
    GcsStorage paged = GcsStorage.on(service, new GcsLocation(BUCKET, "paged"),
        GcsStorage.Options.defaults().withListPageSize(10));
    for (int i = 0; i < 45; i++) {
      paged.createIfAbsent(String.format("p/%03d", i), new byte[] {(byte) i});
    }
    int before = server.requests().size();
    assertThat(paged.list("p/")).hasSize(45).extracting(o -> o.key())
        .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 45)
            .mapToObj(i -> String.format("p/%03d", i)).toList());
    assertThat(server.requests().subList(before, server.requests().size()))
        .as("five pages of ten, linked by page tokens")
        .filteredOn(r -> r.method().equals("GET") && r.path().endsWith("/o")).hasSize(5)
        .allMatch(r -> "10".equals(r.query().get("maxResults")));
  }
}
