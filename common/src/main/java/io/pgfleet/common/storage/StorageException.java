package io.pgfleet.common.storage;

import java.io.IOException;

/** A repository that cannot be used as asked; the message names it and says what to do. */
public class StorageException extends IOException {
  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
