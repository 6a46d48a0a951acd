package io.pgfleet.it.support;

import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.ForwardingObjectWriter;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * The real storage with injected failures, as a flaky network, an overloaded object store or a full disk would
 * cause them. A {@link Fault} decides per call ({@link Op} and key) whether it fails, with the message given to
 * {@link #inject}; faults can be limited to a time window ({@link Fault#lasting}) and started by the run itself
 * ({@link #onDataCommit}). The older form, {@code FaultyStorage(real, failCommit, message)}, fails the n-th commit
 * of an object under {@code data/} (counted from 1) when {@code failCommit} says so.
 */
public final class FaultyStorage implements Storage {
  /** The calls a fault can hit; stream bytes are never failed (a commit or an open is). */
  public enum Op {
    CREATE, COMMIT, CREATE_IF_ABSENT, DELETE, REMOVE_INCOMPLETE, OPEN, STAT, LIST;

    public boolean write() {
      return ordinal() <= REMOVE_INCOMPLETE.ordinal();
    }
  }

  /** Whether one call fails. */
  @FunctionalInterface
  public interface Fault {
    boolean fails(Op op, String key);

    /** This fault from now for the given time, then none. */
    default Fault lasting(Duration d) {
      Instant end = Instant.now().plus(d);
      return (op, key) -> Instant.now().isBefore(end) && fails(op, key);
    }
  }

  /** Every call fails. */
  public static Fault everything() {
    return (op, key) -> true;
  }

  /**
   * A fraction of writes and of reads fail (seeded, so a run is repeatable), but never more than
   * {@code maxInARowPerKey} times in a row for one key: a retry budget larger than that always gets through.
   */
  public static Fault fraction(double writes, double reads, int maxInARowPerKey, long seed) {
    Random random = new Random(seed);
    Map<String, Integer> inARow = new ConcurrentHashMap<>();
    return (op, key) -> {
      double p = op.write() ? writes : reads;
      boolean fail;
      synchronized (random) {
        fail = random.nextDouble() < p;
      }
      String k = op + " " + key;
      if (fail && inARow.getOrDefault(k, 0) < maxInARowPerKey) {
        inARow.merge(k, 1, Integer::sum);
        return true;
      }
      inARow.remove(k);
      return false;
    };
  }

  private final Storage real;
  private final IntPredicate failDataCommit;
  private final AtomicInteger dataCommits = new AtomicInteger();
  private final AtomicInteger failedWrites = new AtomicInteger();
  private final AtomicInteger failedReads = new AtomicInteger();
  private volatile Fault fault = (op, key) -> false;
  private volatile String message;
  private volatile int triggerAt = -1;
  private volatile Runnable trigger;

  /** No fault until one is {@linkplain #inject injected}. */
  public FaultyStorage(Storage real) {
    this(real, n -> false, null);
  }

  public FaultyStorage(Storage real, IntPredicate failDataCommit, String message) {
    this.real = real;
    this.failDataCommit = failDataCommit;
    this.message = message;
  }

  /** From now on calls fail as the fault says, with this message (an IOException, as the JDK would throw). */
  public FaultyStorage inject(Fault f, String message) {
    this.message = message;
    this.fault = f;
    return this;
  }

  /** No more faults. */
  public void heal() {
    fault = (op, key) -> false;
  }

  /** Runs the action just before the n-th commit of an object under {@code data/} (counted from 1). */
  public FaultyStorage onDataCommit(int n, Runnable action) {
    trigger = action;
    triggerAt = n;
    return this;
  }

  /** How many calls failed on purpose. */
  public int failed() {
    return failedWrites.get() + failedReads.get();
  }

  public int failedWrites() {
    return failedWrites.get();
  }

  public int failedReads() {
    return failedReads.get();
  }

  private void check(Op op, String key) throws IOException {
    if (fault.fails(op, key)) {
      (op.write() ? failedWrites : failedReads).incrementAndGet();
      throw new IOException(message);
    }
  }

  @Override
  public ObjectWriter create(String key) throws IOException {
    check(Op.CREATE, key);
    ObjectWriter w = real.create(key);
    boolean data = key.contains("/data/");
    return new ForwardingObjectWriter(w) {
      @Override
      public void commit() throws IOException {
        if (data) {
          int n = dataCommits.incrementAndGet();
          if (n == triggerAt && trigger != null) {
            trigger.run();
          }
          if (failDataCommit.test(n)) {
            failedWrites.incrementAndGet();
            throw new IOException(message);
          }
        }
        check(Op.COMMIT, key);
        w.commit();
      }
    };
  }

  @Override
  public InputStream open(String key) throws IOException {
    check(Op.OPEN, key);
    return real.open(key);
  }

  @Override
  public InputStream open(String key, long offset) throws IOException {
    check(Op.OPEN, key);
    return real.open(key, offset);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    check(Op.STAT, key);
    return real.stat(key);
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    check(Op.LIST, prefix);
    return real.list(prefix);
  }

  @Override
  public void delete(String key) throws IOException {
    check(Op.DELETE, key);
    real.delete(key);
  }

  @Override
  public boolean createIfAbsent(String key, byte[] content) throws IOException {
    check(Op.CREATE_IF_ABSENT, key);
    return real.createIfAbsent(key, content);
  }

  @Override
  public void removeIncomplete(String prefix) throws IOException {
    check(Op.REMOVE_INCOMPLETE, prefix);
    real.removeIncomplete(prefix);
  }

  @Override
  public String describe() {
    return real.describe();
  }
}
