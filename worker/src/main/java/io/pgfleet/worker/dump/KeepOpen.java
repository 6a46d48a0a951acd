package io.pgfleet.worker.dump;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Lets zstd or encryption finish on close without closing the object, which is committed afterwards. */
final class KeepOpen extends FilterOutputStream {
  KeepOpen(OutputStream out) {
    super(out);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
  }

  @Override
  public void close() throws IOException {
    out.flush();
  }
}
