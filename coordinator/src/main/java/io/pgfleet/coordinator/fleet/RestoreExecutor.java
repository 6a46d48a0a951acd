package io.pgfleet.coordinator.fleet;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.coordinator.api.FleetApi;
import java.util.List;
import java.util.function.Consumer;

/**
 * Restores a backup into a database (blocking). The coordinator runs API-requested restores through it; the
 * distribution module implements it with the worker's restorer, which the coordinator module does not depend on.
 */
public interface RestoreExecutor {
  record Progress(String phase, int tablesTotal, int tablesDone, long rows, long rawBytes) {}

  record Result(int tables, long rows, List<String> notes) {}

  /** @throws Exception with a message fit to show as it is when the restore fails */
  Result restore(Manifest manifest, PgConnectionInfo target, FleetApi.RestoreRequest request,
      Consumer<Progress> progress) throws Exception;
}
