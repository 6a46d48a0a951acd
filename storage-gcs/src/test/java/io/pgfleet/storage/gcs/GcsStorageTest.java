package io.pgfleet.storage.gcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import io.pgfleet.common.storage.StorageException;
import java.io.IOException;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What GcsStorage decides by itself: URL parsing, which failures are retried, how a failed commit reads. */
class GcsStorageTest {
  private static final GcsRetry.Settings FAST = new GcsRetry.Settings(4, Duration.ofMillis(1), Duration.ofMillis(5));

  @Test
  void parsesBucketAndPrefix() throws StorageException {
    assertThat(GcsLocation.parse("gs://my-bucket/backups/prod/")).isEqualTo(new GcsLocation("my-bucket", "backups/prod"));
    assertThat(GcsLocation.parse("gs://my-bucket")).isEqualTo(new GcsLocation("my-bucket", ""));
    assertThat(GcsLocation.parse("gs://my-bucket/")).isEqualTo(new GcsLocation("my-bucket", ""));
    assertThat(GcsLocation.parse("gs://b.example.com/p").toString()).isEqualTo("gs://b.example.com/p");
    assertThat(new GcsLocation("b", "p/q").objectName("c/d/manifest.json")).isEqualTo("p/q/c/d/manifest.json");
    assertThat(new GcsLocation("b", "").objectName("c/d/manifest.json")).isEqualTo("c/d/manifest.json");
  }

  @ParameterizedTest
  @ValueSource(strings = {"gs://", "gs:///prefix", "gs://UPPER/p", "gs://ab/p", "gs://-bucket/p", "gs://b_ad!/p",
      "gs://bucket/a//b", "gs://bucket/../x", "s3://bucket/p", "gs:/bucket"})
  void rejectsMalformedUrlsWithAMessageSayingWhatToGive(String url) {
    assertThatThrownBy(() -> GcsLocation.parse(url)).isInstanceOf(StorageException.class)
        .hasMessageContaining("gs://").hasMessageNotContaining("\n");
  }

  @Test
  void transientFailuresAreRetriedUntilTheCallSucceeds() throws IOException {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    io.micrometer.core.instrument.Metrics.addRegistry(meters);
    GcsRetry retry = new GcsRetry("test", FAST);
    AtomicInteger calls = new AtomicInteger();
    String result = retry.call(() -> {
      int n = calls.incrementAndGet();
      if (n == 1) {
        throw new com.google.cloud.storage.StorageException(503, "Service Unavailable");
      }
      if (n == 2) {
        throw new com.google.cloud.storage.StorageException(429, "Too Many Requests");
      }
      if (n == 3) {
        throw new com.google.cloud.storage.StorageException(0, "I/O", new SocketException("Connection reset"));
      }
      return "done";
    });
    assertThat(result).isEqualTo("done");
    assertThat(calls).hasValue(4);
    assertThat(retry.retryCount()).isEqualTo(3);
    assertThat(meters.find("pgfleet.storage.retries")
        .tag("backend", "gcs").counter()).as("the retries reach Micrometer's global registry")
        .isNotNull().satisfies(c -> assertThat(c.count()).isGreaterThanOrEqualTo(3));
    io.micrometer.core.instrument.Metrics.removeRegistry(meters);
  }

  @Test
  void permanentFailuresAreNotRetried() {
    GcsRetry retry = new GcsRetry("test", FAST);
    AtomicInteger calls = new AtomicInteger();
    assertThatThrownBy(() -> retry.call(() -> {
      calls.incrementAndGet();
      throw new com.google.cloud.storage.StorageException(403, "Forbidden");
    })).isInstanceOf(com.google.cloud.storage.StorageException.class);
    assertThat(calls).hasValue(1);
    assertThat(retry.retryCount()).isZero();
    assertThat(GcsRetry.isTransient(new com.google.cloud.storage.StorageException(404, "Not Found"))).isFalse();
    assertThat(GcsRetry.isTransient(new com.google.cloud.storage.StorageException(412, "Precondition"))).isFalse();
    assertThat(GcsRetry.isTransient(new com.google.cloud.storage.StorageException(500, "Internal"))).isTrue();
    assertThat(GcsRetry.isTransient(new java.net.UnknownHostException("nowhere"))).isFalse();
  }

  @Test
  void retriesStopAfterTheLastAttempt() {
    GcsRetry retry = new GcsRetry("test", FAST);
    AtomicInteger calls = new AtomicInteger();
    assertThatThrownBy(() -> retry.call(() -> {
      calls.incrementAndGet();
      throw new com.google.cloud.storage.StorageException(502, "Bad Gateway");
    })).isInstanceOf(com.google.cloud.storage.StorageException.class).hasMessageContaining("Bad Gateway");
    assertThat(calls).hasValue(4);
  }

  @Test
  void theHelperCannotCommitWithAPreconditionAndSaysSo() {
    GcsStorage s = GcsStorage.on(LocalStorageHelper.getOptions().getService(), new GcsLocation("b", "p"),
        GcsStorage.Options.defaults());
    assertThatThrownBy(() -> s.createIfAbsent("m.json", new byte[] {1})).isInstanceOf(StorageException.class)
        .hasMessageContaining("m.json").hasMessageContaining("gs://b/p");
  }

  @Test
  void describeIsTheUrl() {
    GcsStorage s = GcsStorage.on(LocalStorageHelper.getOptions().getService(), new GcsLocation("b", "p/q"),
        GcsStorage.Options.defaults());
    assertThat(s.describe()).isEqualTo("gs://b/p/q");
  }
}
