package io.pgfleet.worker.dump;

import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import io.pgfleet.common.storage.RepositoryUnavailableException;
import java.io.IOException;
import java.sql.SQLException;

/** Decides what a failure means for the run: retry the task, or fail the run with a reason. */
final class Failures {
  private Failures() {}

  static TaskFailure classify(String what, Exception e, PgConnectionInfo target) {
    if (e instanceof TaskFailure f) {
      return f;
    }
    if (e instanceof SQLException s) {
      String state = s.getSQLState() == null ? "" : s.getSQLState();
      String msg = s.getMessage() == null ? "" : s.getMessage();
      if ("22023".equals(state) && msg.contains("snapshot")) {
        return new TaskFailure(what + ": the run's snapshot no longer exists (its holder ended)", false, e);
      }
      // Connection trouble and a terminated backend are worth another attempt under the same snapshot.
      boolean retryable = state.startsWith("08") || state.startsWith("57") || state.startsWith("53")
          || "40001".equals(state) || "40P01".equals(state) || "55P03".equals(state);
      return new TaskFailure(what + ": " + PgErrors.describe(s, target), retryable, e);
    }
    if (e instanceof IOException) {
      for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
        if (c instanceof RepositoryUnavailableException) {
          // The repository's circuit is open: another attempt now fails the same way at once and only burns the
          // task's attempts. The run fails (category storage); the next scheduled run finds the repository back.
          return new TaskFailure(what + ": " + PgErrors.oneLine(String.valueOf(c.getMessage())), false, e);
        }
      }
      Throwable c = e.getCause();
      if (c instanceof SQLException s) {
        return classify(what, s, target);
      }
      return new TaskFailure(what + ": " + PgErrors.oneLine(String.valueOf(e.getMessage())), true, e);
    }
    return new TaskFailure(what + ": " + e, false, e);
  }
}
