package io.pgfleet.cli;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.worker.restore.Restorer;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "restore", description = {
    "Restore a backup into an empty database (created if it does not exist): schema, table data in parallel, "
        + "sequence values and large objects, then indexes and constraints."})
final class RestoreCommand implements Callable<Integer> {
  @Mixin
  BackupSelection selection;

  @Option(names = "--target", required = true,
      description = "postgresql://user[:password]@host[:port]/new_database")
  String target;

  @Option(names = "--jobs", defaultValue = "2", description = "Parallel table loads and index builds (default ${DEFAULT-VALUE}).")
  int jobs;

  @Option(names = "--no-owner", description = "Do not restore object owners (when the roles do not exist).")
  boolean noOwner;

  @Override
  public Integer call() throws Exception {
    if (jobs < 1 || jobs > 64) {
      throw new UserError("--jobs " + jobs + " is out of range: give 1 to 64");
    }
    PgConnectionInfo to = PgConnectionInfo.parse(target);
    Storage storage = selection.open();
    Manifest m = selection.find(storage);
    System.err.println("pgfleet: restoring backup " + m.backupId() + " of " + m.cluster() + "/" + m.database()
        + " into " + to.redacted());
    ProgressPrinter printer = new ProgressPrinter(System.err);
    long t0 = System.nanoTime();
    try {
      new Restorer(storage, PgTools.fromEnvironment(), printer::restore)
          .restore(m, to, new Restorer.Options(jobs, noOwner));
    } catch (Restorer.RestoreException e) {
      printer.done();
      throw new UserError(e.getMessage());
    }
    printer.done();
    System.err.printf("pgfleet: restored backup %s into %s: %d tables, %s rows in %.1f s%n", m.backupId(),
        to.redacted(), m.data().size(), Formats.count(m.totalRows()), (System.nanoTime() - t0) / 1e9);
    return 0;
  }
}
