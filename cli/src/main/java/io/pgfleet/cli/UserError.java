package io.pgfleet.cli;

/** An error whose message is the whole story for the user: printed as one line, no stack trace. */
public final class UserError extends RuntimeException {
  public UserError(String message) {
    super(message, null, false, false);
  }
}
