package io.pgfleet.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgfleet.common.storage.StorageException;
import java.io.IOException;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** What S3Storage decides by itself: URL and endpoint parsing, and which failures are retried. */
class S3StorageTest {
  private static final S3Retry.Settings FAST = new S3Retry.Settings(4, Duration.ofMillis(1), Duration.ofMillis(5));

  @Test
  void parsesBucketAndPrefix() throws StorageException {
    assertThat(S3Location.parse("s3://my-bucket/backups/prod/")).isEqualTo(new S3Location("my-bucket", "backups/prod"));
    assertThat(S3Location.parse("s3://my-bucket")).isEqualTo(new S3Location("my-bucket", ""));
    assertThat(S3Location.parse("s3://b.example.com/p").toString()).isEqualTo("s3://b.example.com/p");
    assertThat(new S3Location("b", "p/q").objectKey("c/d/manifest.json")).isEqualTo("p/q/c/d/manifest.json");
    assertThat(new S3Location("b", "").objectKey("c/d/manifest.json")).isEqualTo("c/d/manifest.json");
  }

  @ParameterizedTest
  @ValueSource(strings = {"s3://", "s3:///prefix", "s3://UPPER/p", "s3://ab/p", "s3://-bucket/p", "s3://b_ad/p",
      "s3://bucket/a//b", "s3://bucket/../x", "gs://bucket/p", "s3:/bucket"})
  void rejectsMalformedUrlsWithAMessageSayingWhatToGive(String url) {
    assertThatThrownBy(() -> S3Location.parse(url)).isInstanceOf(StorageException.class)
        .hasMessageContaining("s3://").hasMessageNotContaining("\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/p", "s3://AKIAEXAMPLE:wJal/rXUtnFEMI@bucket/p"})
  void credentialsInTheUrlAreRejectedWithoutRepeatingThem(String url) {
    assertThatThrownBy(() -> S3Location.parse(url)).isInstanceOf(StorageException.class)
        .hasMessageContaining("AWS_ACCESS_KEY_ID").hasMessageNotContaining("wJal").hasMessageNotContaining("AKIA")
        .hasMessageNotContaining("\n");
  }

  @Test
  void endpointMustBeAnHttpUrlWithoutCredentials() throws StorageException {
    assertThat(S3Connection.parseEndpoint("http://minio:9000").getPort()).isEqualTo(9000);
    assertThatThrownBy(() -> S3Connection.parseEndpoint("minio:9000")).hasMessageContaining("PGFLEET_S3_ENDPOINT");
    assertThatThrownBy(() -> S3Connection.parseEndpoint("http://k:secret@minio:9000"))
        .hasMessageContaining("PGFLEET_S3_ENDPOINT").hasMessageNotContaining("secret");
  }

  private static S3Exception status(int code, String errorCode) {
    return (S3Exception) S3Exception.builder().statusCode(code)
        .awsErrorDetails(AwsErrorDetails.builder().errorCode(errorCode).errorMessage(errorCode).build())
        .message(errorCode).build();
  }

  @Test
  void transientFailuresAreRetriedUntilTheCallSucceeds() throws IOException {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    io.micrometer.core.instrument.Metrics.addRegistry(meters);
    S3Retry retry = new S3Retry("test", FAST);
    AtomicInteger calls = new AtomicInteger();
    String result = retry.call(() -> {
      int n = calls.incrementAndGet();
      if (n == 1) {
        throw status(503, "SlowDown");
      }
      if (n == 2) {
        throw status(409, "ConditionalRequestConflict");
      }
      if (n == 3) {
        throw SdkClientException.create("Unable to execute HTTP request", new SocketException("Connection reset"));
      }
      return "done";
    });
    assertThat(result).isEqualTo("done");
    assertThat(calls).hasValue(4);
    assertThat(retry.retryCount()).isEqualTo(3);
    assertThat(meters.find("pgfleet.storage.retries")
        .tag("backend", "s3").counter()).as("the retries reach Micrometer's global registry")
        .isNotNull().satisfies(c -> assertThat(c.count()).isGreaterThanOrEqualTo(3));
    io.micrometer.core.instrument.Metrics.removeRegistry(meters);
  }

  @Test
  void permanentFailuresAreNotRetried() {
    S3Retry retry = new S3Retry("test", FAST);
    AtomicInteger calls = new AtomicInteger();
    assertThatThrownBy(() -> retry.call(() -> {
      calls.incrementAndGet();
      throw status(403, "AccessDenied");
    })).isInstanceOf(S3Exception.class);
    assertThat(calls).hasValue(1);
    assertThat(S3Retry.isTransient(status(404, "NoSuchKey"))).isFalse();
    assertThat(S3Retry.isTransient(status(412, "PreconditionFailed"))).isFalse();
    assertThat(S3Retry.isTransient(status(409, "BucketAlreadyExists"))).isFalse();
    assertThat(S3Retry.isTransient(status(500, "InternalError"))).isTrue();
    assertThat(S3Retry.isTransient(status(429, "TooManyRequests"))).isTrue();
    assertThat(S3Retry.isTransient(SdkClientException.create("Unable to load credentials"))).isFalse();
  }
}
