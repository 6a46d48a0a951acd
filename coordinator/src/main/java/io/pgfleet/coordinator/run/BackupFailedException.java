package io.pgfleet.coordinator.run;

/** A run that ended without a manifest; the message says why and is fit to show as it is. */
public final class BackupFailedException extends RuntimeException {
  public BackupFailedException(String message) {
    super(message, null, false, false);
  }
}
