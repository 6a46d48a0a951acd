package io.pgfleet.common.storage;

import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.core.functions.CheckedSupplier;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries one whole call to an object store on a transient failure with exponential backoff and jitter; anything
 * else fails at once. What is transient: an HTTP answer the backend classifies as such (its {@code statusVerdict}:
 * 408, 429, 5xx and whatever else it adds), or no answer at all because the connection was reset or timed out.
 * Each retry is logged at WARN, counted ({@link #retryCount()}) and counted in Micrometer's global registry as
 * {@code pgfleet.storage.retries}, tagged with the backend only (never a bucket, key or error text).
 */
public class StorageRetry {
  private static final Logger LOG = LoggerFactory.getLogger(StorageRetry.class);

  /** How hard to retry: attempts in all (1 = no retry), the first wait, and the longest wait. */
  public record Settings(int maxAttempts, Duration firstBackoff, Duration maxBackoff) {
    public static final Settings DEFAULT = new Settings(6, Duration.ofMillis(500), Duration.ofSeconds(16));
  }

  private final Retry retry;
  private final AtomicLong retries = new AtomicLong();

  /**
   * @param backend the metric tag: {@code gcs}, {@code s3}
   * @param name where the calls go, for the log
   * @param statusVerdict for a throwable that is the backend's HTTP answer: whether to retry it; null for any other
   * @param describe one line saying what a failure was, for the log
   */
  protected StorageRetry(String backend, String name, Settings s, Function<Throwable, Boolean> statusVerdict,
      Function<Throwable, String> describe) {
    Counter counter = Metrics.counter("pgfleet.storage.retries", "backend", backend);
    RetryConfig config = RetryConfig.custom()
        .maxAttempts(s.maxAttempts())
        .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(s.firstBackoff(), 2.0, 0.5, s.maxBackoff()))
        .retryOnException(t -> isTransient(t, statusVerdict))
        .build();
    retry = Retry.of(name, config);
    retry.getEventPublisher().onRetry(e -> {
      retries.incrementAndGet();
      counter.increment();
      LOG.warn("storage {}: attempt {} failed transiently, retrying in {} ms: {}", name,
          e.getNumberOfRetryAttempts(), e.getWaitInterval().toMillis(), describe.apply(e.getLastThrowable()));
    });
  }

  /** Retries made so far (each one a failed attempt followed by another). */
  public long retryCount() {
    return retries.get();
  }

  public <T> T call(CheckedSupplier<T> call) throws IOException {
    try {
      return retry.executeCheckedSupplier(call);
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IOException(t);
    }
  }

  /** Walks the causes: the first HTTP answer decides; without one, a reset or timed-out connection is transient. */
  protected static boolean isTransient(Throwable t, Function<Throwable, Boolean> statusVerdict) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      Boolean verdict = statusVerdict.apply(c);
      if (verdict != null) {
        return verdict;
      }
      if (c instanceof SocketException || c instanceof SocketTimeoutException) {
        return true;
      }
      if (c instanceof javax.net.ssl.SSLException && String.valueOf(c.getMessage()).contains("reset")) {
        return true;
      }
    }
    return false;
  }

  /** The first line of a failure's message, or its class name when it has none. */
  public static String firstLine(Throwable t) {
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).trim();
  }
}
