package io.pgfleet.common.storage;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.core.functions.CheckedSupplier;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import io.pgfleet.common.metrics.MetricNames;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Any backend behind one resilience layer per repository: a transient failure of a whole call (see
 * {@link StorageFailures}) is retried with exponential backoff and jitter, and a circuit breaker shared by every
 * user of the repository in this process (keyed by {@link Storage#describe()}) opens after a run of transient
 * failures in a row. While it is open every call fails at once with a {@link RepositoryUnavailableException}
 * saying why and when the next probe is due; after the wait a few probe calls go through, and their success
 * closes it again.
 *
 * <p>What is guarded: {@code stat}, {@code list}, {@code delete}, {@code createIfAbsent}, {@code removeIncomplete},
 * opening a stream ({@code open}, {@code create}) and an object writer's {@code commit}. Bytes already flowing
 * through a stream cannot be replayed from here (the writer's earlier bytes are gone, a reader's consumer has seen
 * part of the object): a failure inside a stream propagates, and the task that owns the stream is retried by the
 * coordinator instead.
 *
 * <p>GCS and S3 already retry each HTTP call themselves ({@link StorageRetry}, with the HTTP status as the
 * verdict); retrying those calls again here would multiply the attempts (6 x 6) and the waits. For them this layer
 * adds only the circuit breaker, and each recorded failure is a call that already used up its own retries, so the
 * circuit opens after {@code max(2, failuresToOpen / maxAttempts)} of those. The local directory gets both.
 *
 * <p>Failures that are not transient neither retry nor count: a definite answer proves the repository reachable.
 * A plain IOException that reaches the caller is rethrown as a {@link StorageException} naming the repository, so
 * the run's failure is reported in the storage category.
 */
public final class ResilientStorage implements Storage {
  private static final Logger LOG = LoggerFactory.getLogger(ResilientStorage.class);
  private static final Map<String, Circuit> CIRCUITS = new ConcurrentHashMap<>();
  private static final Set<String> GAUGES = ConcurrentHashMap.newKeySet();

  /**
   * How hard to retry and when to stop trying.
   *
   * @param maxAttempts attempts per call in all (1 = no retry)
   * @param firstBackoff the wait before the second attempt; each later wait doubles, with jitter
   * @param maxBackoff the longest wait
   * @param failuresToOpen transient failures in a row (attempts, across all users) that open the circuit
   * @param openFor how long the circuit stays open before probe calls may go through
   * @param probes calls let through half-open; the circuit closes unless all of them fail
   */
  public record Settings(int maxAttempts, Duration firstBackoff, Duration maxBackoff, int failuresToOpen,
      Duration openFor, int probes) {
    /** About 7.5 s of retries per call (0.5 + 1 + 2 + 4 s, jittered); open after 10 failures, for 30 s. */
    public static final Settings DEFAULT = new Settings(5, Duration.ofMillis(500), Duration.ofSeconds(8), 10,
        Duration.ofSeconds(30), 2);

    public Settings {
      if (maxAttempts < 1 || failuresToOpen < 1 || probes < 1 || firstBackoff.isNegative() || maxBackoff.isNegative()
          || openFor.isNegative() || openFor.isZero()) {
        throw new IllegalArgumentException("invalid storage resilience settings: " + maxAttempts + " attempts, "
            + failuresToOpen + " failures to open, " + probes + " probes, open for " + openFor);
      }
    }
  }

  private final Storage real;
  private final Circuit circuit;

  private ResilientStorage(Storage real, Circuit circuit) {
    this.real = real;
    this.circuit = circuit;
  }

  /**
   * The storage behind its repository's resilience layer; a storage already wrapped is returned as it is. The
   * first wrapper of a repository in the process fixes its circuit's settings; later ones share that circuit.
   */
  public static Storage wrap(Storage storage, Settings settings) {
    if (storage instanceof ResilientStorage) {
      return storage;
    }
    String name = storage.describe();
    Circuit c = CIRCUITS.computeIfAbsent(name, n -> new Circuit(n, backendOf(n), settings));
    registerGauge(backendOf(name));
    return new ResilientStorage(storage, c);
  }

  public static Storage wrap(Storage storage) {
    return wrap(storage, Settings.DEFAULT);
  }

  /** {@code pgfleet.storage.circuit.open{backend}}: the backend's repositories whose circuit is open or probing. */
  private static void registerGauge(String backend) {
    if (GAUGES.add(backend)) {
      Metrics.gauge(MetricNames.STORAGE_CIRCUIT_OPEN, Tags.of("backend", backend), CIRCUITS,
          m -> m.values().stream().filter(c -> c.backend.equals(backend))
              .filter(c -> c.breaker.getState() != CircuitBreaker.State.CLOSED).count());
    }
  }

  /** The metric tag of a repository: {@code gcs}, {@code s3} or {@code fs} (never the bucket or the path). */
  static String backendOf(String describe) {
    String d = describe.toLowerCase(java.util.Locale.ROOT);
    return d.startsWith("gs://") ? "gcs" : d.startsWith("s3://") ? "s3" : "fs";
  }

  /** The repository's circuit state in this process ({@code CLOSED} when nothing has used it yet). */
  public static CircuitBreaker.State circuitState(String describe) {
    Circuit c = CIRCUITS.get(describe);
    return c == null ? CircuitBreaker.State.CLOSED : c.breaker.getState();
  }

  /** Retries this layer made for the repository in this process (each a failed attempt followed by another). */
  public static long retries(String describe) {
    Circuit c = CIRCUITS.get(describe);
    return c == null ? 0 : c.retries.get();
  }

  /** The storage behind the layer. */
  public Storage unwrap() {
    return real;
  }

  @Override
  public ObjectWriter create(String key) throws IOException {
    ObjectWriter w = circuit.call("create", key, () -> real.create(key));
    return new ForwardingObjectWriter(w) {
      @Override
      public void commit() throws IOException {
        circuit.call("commit", key, () -> {
          w.commit();
          return null;
        });
      }
    };
  }

  @Override
  public InputStream open(String key) throws IOException {
    return circuit.call("open", key, () -> real.open(key));
  }

  @Override
  public InputStream open(String key, long offset) throws IOException {
    return circuit.call("open", key, () -> real.open(key, offset));
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return circuit.call("stat", key, () -> real.stat(key));
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    return circuit.call("list", prefix, () -> real.list(prefix));
  }

  @Override
  public void delete(String key) throws IOException {
    circuit.call("delete", key, () -> {
      real.delete(key);
      return null;
    });
  }

  @Override
  public boolean createIfAbsent(String key, byte[] content) throws IOException {
    return circuit.call("create", key, () -> real.createIfAbsent(key, content));
  }

  @Override
  public void removeIncomplete(String prefix) throws IOException {
    circuit.call("clean up", prefix, () -> {
      real.removeIncomplete(prefix);
      return null;
    });
  }

  @Override
  public String describe() {
    return real.describe();
  }

  @Override
  public void close() throws IOException {
    real.close();
  }

  /** One repository's retry and circuit breaker, shared by every wrapper of it in the process. */
  private static final class Circuit {
    private final String name;
    private final String backend;
    private final Settings settings;
    private final int failuresToOpen;
    private final Retry retry; // null when the backend retries itself
    private final CircuitBreaker breaker;
    private final Counter retryCounter;
    private final AtomicLong retries = new AtomicLong();
    private final AtomicReference<String> lastError = new AtomicReference<>("");
    private final AtomicReference<Instant> openedAt = new AtomicReference<>(Instant.EPOCH);

    Circuit(String name, String backend, Settings s) {
      this.name = name;
      this.backend = backend;
      this.settings = s;
      boolean retriesItself = !backend.equals("fs");
      this.failuresToOpen = retriesItself ? Math.max(2, s.failuresToOpen() / s.maxAttempts()) : s.failuresToOpen();
      // Count-based window as long as the threshold, at 100 %: it opens exactly when the last N calls all failed.
      breaker = CircuitBreaker.of(name, CircuitBreakerConfig.custom()
          .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
          .slidingWindowSize(failuresToOpen)
          .minimumNumberOfCalls(failuresToOpen)
          .failureRateThreshold(100)
          .waitDurationInOpenState(s.openFor())
          .automaticTransitionFromOpenToHalfOpenEnabled(true)
          .permittedNumberOfCallsInHalfOpenState(s.probes())
          .recordException(StorageFailures::isTransient)
          .build());
      breaker.getEventPublisher()
          .onError(e -> lastError.set(StorageRetry.firstLine(e.getThrowable())))
          .onStateTransition(e -> {
            CircuitBreaker.State to = e.getStateTransition().getToState();
            if (to == CircuitBreaker.State.OPEN) {
              openedAt.set(Instant.now());
              LOG.error("repository {}: circuit open after {} failures in a row, calls fail at once for {} s: {}",
                  name, failuresToOpen, s.openFor().toSeconds(), lastError.get());
            } else if (to == CircuitBreaker.State.CLOSED) {
              LOG.info("repository {}: circuit closed, the repository answers again", name);
            } else {
              LOG.info("repository {}: circuit {}", name, to);
            }
          });
      retryCounter = Metrics.counter(MetricNames.STORAGE_RETRIES, "backend", backend);
      retry = retriesItself ? null : Retry.of(name, RetryConfig.custom()
          .maxAttempts(s.maxAttempts())
          .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(s.firstBackoff(), 2.0, 0.5, s.maxBackoff()))
          .retryOnException(StorageFailures::isTransient)
          .build());
      if (retry != null) {
        retry.getEventPublisher().onRetry(e -> {
          retries.incrementAndGet();
          retryCounter.increment();
          LOG.warn("repository {}: attempt {} failed transiently, retrying in {} ms: {}", name,
              e.getNumberOfRetryAttempts(), e.getWaitInterval().toMillis(),
              StorageRetry.firstLine(e.getLastThrowable()));
        });
      }
    }

    <T> T call(String op, String key, CheckedSupplier<T> call) throws IOException {
      AtomicInteger attempts = new AtomicInteger();
      CheckedSupplier<T> guarded = () -> {
        attempts.incrementAndGet();
        try {
          return breaker.executeCheckedSupplier(call);
        } catch (CallNotPermittedException e) {
          throw unavailable();
        }
      };
      try {
        return retry == null ? guarded.get() : retry.executeCheckedSupplier(guarded);
      } catch (StorageException e) {
        if (attempts.get() > 1 && !(e instanceof RepositoryUnavailableException)) {
          throw new StorageException(e.getMessage() + " (after " + attempts.get() + " attempts)", e);
        }
        throw e;
      } catch (IOException e) {
        throw new StorageException("repository " + name + ": " + op + " " + key + " failed"
            + (attempts.get() > 1 ? " after " + attempts.get() + " attempts" : "") + ": " + reason(e), e);
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new StorageException("repository " + name + ": " + op + " " + key + " failed: "
            + StorageRetry.firstLine(t), t);
      }
    }

    /** One line; the JDK's file exceptions carry only the path when the system gave no reason, so say which. */
    private static String reason(IOException e) {
      if (e instanceof java.nio.file.AccessDeniedException a && a.getReason() == null) {
        return "permission denied on " + a.getFile();
      }
      if (e instanceof java.nio.file.NoSuchFileException n && n.getReason() == null) {
        return "no such file or directory " + n.getFile();
      }
      if (e instanceof java.nio.file.FileSystemException f && f.getReason() == null) {
        return e.getClass().getSimpleName() + " on " + f.getFile();
      }
      return StorageRetry.firstLine(e);
    }

    private RepositoryUnavailableException unavailable() {
      long left = Math.max(0, settings.openFor().toMillis()
          - Duration.between(openedAt.get(), Instant.now()).toMillis());
      String when = breaker.getState() == CircuitBreaker.State.HALF_OPEN ? "probing now"
          : "retrying in " + (left + 999) / 1000 + "s";
      return new RepositoryUnavailableException("repository " + name + " is unavailable (circuit open after "
          + failuresToOpen + " failures in a row; " + when + "): " + lastError.get());
    }
  }
}
