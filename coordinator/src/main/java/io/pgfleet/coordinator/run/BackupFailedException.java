package io.pgfleet.coordinator.run;

/**
 * A run that ended without a manifest; the message says why and is fit to show as it is.
 *
 * <p>{@link #retryable()} marks failures where a new run (with a new snapshot) may well succeed: the run's tasks
 * were not taken by any worker in time, or no worker was there. A failure of the database or the data itself is
 * not retryable.
 */
public final class BackupFailedException extends RuntimeException {
  private final boolean retryable;

  public BackupFailedException(String message) {
    this(message, false);
  }

  public BackupFailedException(String message, boolean retryable) {
    super(message, null, false, false);
    this.retryable = retryable;
  }

  public boolean retryable() {
    return retryable;
  }
}
