package io.pgfleet.worker.dump;

/** A task that could not complete; {@code retryable} says whether another attempt may succeed. */
public final class TaskFailure extends Exception {
  private final boolean retryable;

  public TaskFailure(String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.retryable = retryable;
  }

  public boolean retryable() {
    return retryable;
  }
}
