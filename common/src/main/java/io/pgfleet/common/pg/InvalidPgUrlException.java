package io.pgfleet.common.pg;

/** A PostgreSQL URL that cannot be used; the message is fit to show a user as it is. */
public final class InvalidPgUrlException extends IllegalArgumentException {
  public InvalidPgUrlException(String message) {
    super(message);
  }
}
