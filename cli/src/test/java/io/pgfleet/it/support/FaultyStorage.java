package io.pgfleet.it.support;

import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * The real storage with injected write failures: the {@code n}-th commit of an object under {@code data/} (counted
 * from 1) fails with the given message when {@code failCommit} says so, as a full disk or a dropped connection
 * would make it. Everything else goes to the real backend.
 */
public final class FaultyStorage implements Storage {
  private final Storage real;
  private final IntPredicate failCommit;
  private final String message;
  private final AtomicInteger commits = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();

  public FaultyStorage(Storage real, IntPredicate failCommit, String message) {
    this.real = real;
    this.failCommit = failCommit;
    this.message = message;
  }

  /** How many commits failed on purpose. */
  public int failed() {
    return failed.get();
  }

  @Override
  public ObjectWriter create(String key) throws IOException {
    ObjectWriter w = real.create(key);
    if (!key.contains("/data/")) {
      return w;
    }
    return new ObjectWriter() {
      @Override
      public void write(int b) throws IOException {
        w.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        w.write(b, off, len);
      }

      @Override
      public void flush() throws IOException {
        w.flush();
      }

      @Override
      public void commit() throws IOException {
        if (failCommit.test(commits.incrementAndGet())) {
          failed.incrementAndGet();
          throw new IOException(message);
        }
        w.commit();
      }

      @Override
      public void close() throws IOException {
        w.close();
      }
    };
  }

  @Override
  public InputStream open(String key) throws IOException {
    return real.open(key);
  }

  @Override
  public InputStream open(String key, long offset) throws IOException {
    return real.open(key, offset);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return real.stat(key);
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    return real.list(prefix);
  }

  @Override
  public void delete(String key) throws IOException {
    real.delete(key);
  }

  @Override
  public boolean createIfAbsent(String key, byte[] content) throws IOException {
    return real.createIfAbsent(key, content);
  }

  @Override
  public void removeIncomplete(String prefix) throws IOException {
    real.removeIncomplete(prefix);
  }

  @Override
  public String describe() {
    return real.describe();
  }
}
