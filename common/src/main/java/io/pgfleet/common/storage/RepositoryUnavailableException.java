package io.pgfleet.common.storage;

/**
 * The repository's circuit is open: recent calls failed in a row, so this one was not even tried. Retrying at once
 * (a task, a run) only fails again; the message says when the next probe is due and what the last error was.
 */
public final class RepositoryUnavailableException extends StorageException {
  public RepositoryUnavailableException(String message) {
    super(message);
  }
}
