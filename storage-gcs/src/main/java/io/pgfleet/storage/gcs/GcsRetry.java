package io.pgfleet.storage.gcs;

import com.google.cloud.BaseServiceException;
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

/**
 * Retries one whole storage call on a transient failure (HTTP 408, 429, 5xx, a reset or timed-out connection) with
 * exponential backoff and jitter; anything else (404, 403, 412, a bad request) fails at once.
 *
 * <p>This is the layer above the Google client's own retries, for what escapes them (the client gives up after its
 * own attempts, or does not retry a call it cannot prove idempotent). Streams are not retried here: an upload's
 * chunks and a download's ranges are resumed by the client itself, and a stream that fails anyway fails its task,
 * which the coordinator retries whole.
 */
public final class GcsRetry {
  private static final Logger log = LoggerFactory.getLogger(GcsRetry.class);

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
  private static final Counter RETRIES = Metrics.counter("pgfleet.storage.retries", "backend", "gcs");

  GcsRetry(String name, Settings s) {
    RetryConfig config = RetryConfig.custom()
        .maxAttempts(s.maxAttempts())
        .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(s.firstBackoff(), 2.0, 0.5, s.maxBackoff()))
        .retryOnException(GcsRetry::isTransient)
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
      if (c instanceof BaseServiceException e && e.getCode() > 0) {
        int code = e.getCode();
        return code == 408 || code == 429 || (code >= 500 && code < 600);
      }
      // code 0: the client saw no HTTP answer; the cause tells whether the connection failed
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
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).trim();
  }
}
