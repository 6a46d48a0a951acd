package io.pgfleet.cli.fleet;

import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.BackupLocks;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.coordinator.api.FleetApi;
import io.pgfleet.coordinator.fleet.RestoreExecutor;
import io.pgfleet.worker.restore.RestoreSelection;
import io.pgfleet.worker.restore.Restorer;
import java.util.function.Consumer;

/** API restores, run in the coordinator's process by the same restorer as {@code pgfleet restore}. */
final class FleetRestores implements RestoreExecutor {
  private final Storage storage;
  private final PgTools tools;
  private final MasterKey key;

  FleetRestores(Storage storage, PgTools tools, MasterKey key) {
    this.storage = storage;
    this.tools = tools;
    this.key = key;
  }

  @Override
  public Result restore(Manifest m, PgConnectionInfo target, FleetApi.RestoreRequest r, Consumer<Progress> progress)
      throws Exception {
    if (m.archiveMode()) {
      throw new Restorer.RestoreException(Restorer.archiveModeMessage(m));
    }
    if (r.dataOnly() && r.schemaOnly()) {
      throw new Restorer.RestoreException("dataOnly and schemaOnly exclude each other: give one of them, or neither");
    }
    for (String p : concat(r.schemas(), r.tables(), r.excludeTables())) {
      io.pgfleet.common.pg.PsqlPattern.check(p);
    }
    Restorer.Mode mode = r.dataOnly() ? Restorer.Mode.DATA_ONLY
        : r.schemaOnly() ? Restorer.Mode.SCHEMA_ONLY : Restorer.Mode.ALL;
    RestoreSelection selection = new RestoreSelection(r.schemas(), r.tables(), r.excludeTables());
    Restorer.Result res;
    // The API restore in flight protects its backup from retention (the coordinator's and any other) by a lock.
    try (BackupLocks.Lock lock = BackupLocks.acquire(storage, m, "restore")) {
      res = new Restorer(storage, tools,
          p -> progress.accept(new Progress(p.phase(), p.tablesTotal(), p.tablesDone(), p.rows(), p.rawBytes())),
          key).restore(m, target, new Restorer.Options(r.jobs(), r.noOwner(), selection, mode, r.clean(), false,
              false, false));
    }
    return new Result(res.tables(), res.rows(), res.notes());
  }

  private static java.util.List<String> concat(java.util.List<String> a, java.util.List<String> b,
      java.util.List<String> c) {
    java.util.List<String> all = new java.util.ArrayList<>(a);
    all.addAll(b);
    all.addAll(c);
    return all;
  }
}
