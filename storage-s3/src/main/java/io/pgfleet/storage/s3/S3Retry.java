package io.pgfleet.storage.s3;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.core.functions.CheckedSupplier;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;

/**
 * Retries one whole S3 call on a transient failure (HTTP 408, 429, 5xx, 409 ConditionalRequestConflict, a reset or
 * timed-out connection) with exponential backoff and jitter; anything else (404, 403, 412, a bad request) fails at
 * once. The same policy and defaults as the GCS backend's retries.
 *
 * <p>Unlike there, this is the only retry layer: the SDK's own retries are switched off ({@link S3Storage}), so
 * every retry is counted, and a conditional write that is retried knows it was (a lost answer to an attempt that
 * did create the object comes back as 412 on the next one; see {@link S3Storage#createIfAbsent}). A multipart
 * upload retries each part by itself, from the part buffer it still holds. A download stream that fails midway is
 * not retried here: it fails its task, which the coordinator retries whole.
 */
public final class S3Retry {
  private static final Logger log = LoggerFactory.getLogger(S3Retry.class);

  /** How hard to retry: attempts in all (1 = no retry), the first wait, and the longest wait. */
  public record Settings(int maxAttempts, Duration firstBackoff, Duration maxBackoff) {
    static final Settings DEFAULT = new Settings(6, Duration.ofMillis(500), Duration.ofSeconds(16));
  }

  private final Retry retry;
  private final AtomicLong retries = new AtomicLong();
  /**
   * Every retry, in Micrometer's global registry (whatever registry the process adds there exports it): the
   * backend is the only tag, never a bucket, key or error text.
   */
  private static final Counter RETRIES = Metrics.counter("pgfleet.storage.retries", "backend", "s3");

  S3Retry(String name, Settings s) {
    RetryConfig config = RetryConfig.custom()
        .maxAttempts(s.maxAttempts())
        .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(s.firstBackoff(), 2.0, 0.5, s.maxBackoff()))
        .retryOnException(S3Retry::isTransient)
        .build();
    retry = Retry.of(name, config);
    retry.getEventPublisher().onRetry(e -> {
      retries.incrementAndGet();
      RETRIES.increment();
      log.warn("storage {}: attempt {} failed transiently, retrying in {} ms: {}", name,
          e.getNumberOfRetryAttempts(), e.getWaitInterval().toMillis(), firstLine(e.getLastThrowable()));
    });
  }

  /** Retries made so far (each one a failed attempt followed by another): also counted in {@code pgfleet.storage.retries}. */
  long retryCount() {
    return retries.get();
  }

  <T> T call(CheckedSupplier<T> call) throws IOException {
    try {
      return retry.executeCheckedSupplier(call);
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IOException(t);
    }
  }

  static boolean isTransient(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof AwsServiceException e && e.statusCode() > 0) {
        int code = e.statusCode();
        String errorCode = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        // 409 ConditionalRequestConflict: another conditional write to the key was in flight; S3 asks to retry.
        return code == 408 || code == 429 || (code >= 500 && code < 600)
            || (code == 409 && "ConditionalRequestConflict".equals(errorCode));
      }
      // No HTTP answer: the cause tells whether the connection failed
      if (c instanceof SocketException || c instanceof SocketTimeoutException) {
        return true;
      }
      if (c instanceof javax.net.ssl.SSLException && String.valueOf(c.getMessage()).contains("reset")) {
        return true;
      }
    }
    return false;
  }

  static String firstLine(Throwable t) {
    if (t instanceof AwsServiceException e && e.awsErrorDetails() != null
        && e.awsErrorDetails().errorMessage() != null) {
      // The server's own words and code, without the SDK's request id and attempt count.
      String code = e.awsErrorDetails().errorCode();
      return e.awsErrorDetails().errorMessage().strip() + " (HTTP " + e.statusCode()
          + (code == null ? "" : " " + code) + ")";
    }
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).trim();
  }
}
