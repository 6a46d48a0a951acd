package io.pgfleet.coordinator.restoretest;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.RestoreTestReport;
import java.time.Duration;
import java.util.List;

/**
 * Runs one restore test (blocking): restores a backup into a scratch database on the sandbox server, checks it
 * against its manifest and the assertions, drops the scratch database. The coordinator module does not depend on
 * the worker's restorer; the distribution module implements this with it.
 */
public interface RestoreTestExecutor {
  /**
   * @param timeout the test's bound: a test running longer ends failed
   * @return the result, passed or failed; a failing restore is a failed result, not an exception
   */
  RestoreTestReport test(Manifest manifest, List<String> assertions, Duration timeout) throws Exception;
}
