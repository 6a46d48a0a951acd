package io.pgfleet.worker.dump;

/**
 * Rows and bytes of a running task, written by its thread and read by the progress reporter and the watchdog. A
 * dumper registers how to stop its work ({@link #onStop}: cancel the COPY, kill pg_dump); the watchdog calls
 * {@link #stop} when the counters have not moved for too long.
 */
public final class ProgressCounter {
  private volatile long rows;
  private volatile long rawBytes;
  private volatile long bytes;
  private volatile Runnable stopper;
  private volatile String stopReason;

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

  /** What the counters say together: it changes whenever any of them moves. */
  public long signature() {
    return rows * 31 + rawBytes * 17 + bytes;
  }

  /** How to stop the work now running; called at once if a stop was asked before. */
  public void onStop(Runnable stop) {
    stopper = stop;
    if (stopReason != null) {
      stop.run();
    }
  }

  /** Stops the work (once a stopper is registered), saying why. */
  public void stop(String reason) {
    stopReason = reason;
    Runnable s = stopper;
    if (s != null) {
      s.run();
    }
  }

  /** Why the work was stopped, or null. */
  public String stopReason() {
    return stopReason;
  }
}
