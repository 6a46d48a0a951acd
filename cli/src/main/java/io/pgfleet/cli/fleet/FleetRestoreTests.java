package io.pgfleet.cli.fleet;

import io.pgfleet.common.config.ConfigException;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.RestoreTestReport;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.coordinator.restoretest.RestoreTestExecutor;
import io.pgfleet.worker.restoretest.RestoreTester;
import java.time.Duration;
import java.util.List;

/**
 * The fleet's restore tests, run in the coordinator's process by the same tester as {@code pgfleet restore-test}
 * (not yet as tasks on workers).
 */
public final class FleetRestoreTests implements RestoreTestExecutor {
  private final RestoreTester tester;
  private final FleetConfig.Sandbox sandbox;

  public FleetRestoreTests(Storage storage, PgTools tools, MasterKey key, FleetConfig.Sandbox sandbox,
      String pgfleetVersion) {
    this.tester = new RestoreTester(storage, tools, key, pgfleetVersion);
    this.sandbox = sandbox;
  }

  /** The sandbox's admin connection; the password is read now, so a rotated file is picked up. */
  public static PgConnectionInfo connection(FleetConfig.Sandbox s) {
    String secret = null;
    if (s.password() != null) {
      try {
        secret = s.password().resolve();
      } catch (ConfigException e) {
        throw new ConfigException("restoreTests.sandbox: cannot read its password: " + e.getMessage());
      }
    }
    return new PgConnectionInfo(s.host(), s.port(), s.user(), secret, "postgres", s.tlsParameters());
  }

  @Override
  public RestoreTestReport test(Manifest m, List<String> assertions, Duration timeout) {
    return tester.test(m, connection(sandbox), sandbox.scratchPrefix(), assertions, timeout);
  }
}
