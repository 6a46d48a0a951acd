package io.pgfleet.worker.dump;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.storage.RepositoryUnavailableException;
import io.pgfleet.common.storage.StorageException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** What a storage failure means for the task: retry it, or fail the run at once. */
class FailuresTest {
  @Test
  void aStorageFailureIsWorthAnotherAttempt() {
    TaskFailure f = Failures.classify("dumping table public.t", new StorageException(
        "repository /r: commit a/b failed after 5 attempts: Connection reset by peer"), null);
    assertThat(f.retryable()).isTrue();
  }

  @Test
  void anOpenCircuitFailsTheTaskWithoutRetryNamingTheRepository() {
    String open = "repository /r is unavailable (circuit open after 10 failures in a row; retrying in 28s):"
        + " Connection timed out";
    TaskFailure f = Failures.classify("dumping table public.t",
        new IOException("writing failed", new RepositoryUnavailableException(open)), null);
    assertThat(f.retryable()).isFalse();
    assertThat(f.getMessage()).isEqualTo("dumping table public.t: " + open);
  }
}
