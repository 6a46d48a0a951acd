package io.pgfleet.common.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Function;

/**
 * A cloud client's download stream whose unchecked failures (the SDKs throw their own runtime exceptions from
 * {@code read}) come out as the storage's one-line {@link IOException}s, as callers of {@link Storage#open} expect.
 */
public final class MappedInputStream extends FilterInputStream {
  private final Function<RuntimeException, IOException> map;

  public MappedInputStream(InputStream in, Function<RuntimeException, IOException> map) {
    super(in);
    this.map = map;
  }

  @Override
  public int read() throws IOException {
    try {
      return super.read();
    } catch (RuntimeException e) {
      throw map.apply(e);
    }
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    try {
      return super.read(b, off, len);
    } catch (RuntimeException e) {
      throw map.apply(e);
    }
  }
}
