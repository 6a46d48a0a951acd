package io.pgfleet.worker.dump;

/** Rows and bytes of a running task, written by its thread and read by the progress reporter. */
public final class ProgressCounter {
  private volatile long rows;
  private volatile long rawBytes;
  private volatile long bytes;

  public void set(long rows, long rawBytes, long bytes) {
    this.rows = rows;
    this.rawBytes = rawBytes;
    this.bytes = bytes;
  }

  public long rows() {
    return rows;
  }

  public long rawBytes() {
    return rawBytes;
  }

  public long bytes() {
    return bytes;
  }
}
