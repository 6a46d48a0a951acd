package io.pgfleet.common.storage;

import java.io.IOException;

/**
 * An {@link ObjectWriter} that passes every call to another: wrappers of a storage (retries, fault injection)
 * extend it and override what they add to, usually {@link #commit()}.
 */
public class ForwardingObjectWriter extends ObjectWriter {
  protected final ObjectWriter delegate;

  public ForwardingObjectWriter(ObjectWriter delegate) {
    this.delegate = delegate;
  }

  @Override
  public void write(int b) throws IOException {
    delegate.write(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    delegate.write(b, off, len);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
  }

  @Override
  public void commit() throws IOException {
    delegate.commit();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }
}
