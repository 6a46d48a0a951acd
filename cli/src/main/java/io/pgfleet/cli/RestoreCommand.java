package io.pgfleet.cli;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.worker.restore.RestoreSelection;
import io.pgfleet.worker.restore.Restorer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "restore", description = {
    "Restore a backup, or the schemas and tables you select, into a database (created if it does not exist): "
        + "schema, table data in parallel, sequence values and large objects, then indexes and constraints. "
        + "A whole restore needs an empty database; a selective one leaves the target's other tables untouched."})
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

  @Option(names = {"-n", "--schema"}, paramLabel = "PATTERN",
      description = "Restore only this schema (repeatable; psql patterns: * and ?).")
  List<String> schemas = new ArrayList<>();

  @Option(names = {"-t", "--table"}, paramLabel = "PATTERN",
      description = "Restore only this table, with its indexes, constraints, triggers, policies, owned sequences "
          + "and grants (repeatable; name or schema.name; * and ?).")
  List<String> tables = new ArrayList<>();

  @Option(names = {"-T", "--exclude-table"}, paramLabel = "PATTERN",
      description = "Leave this table out, with what depends on it (repeatable).")
  List<String> excludeTables = new ArrayList<>();

  @Option(names = {"-a", "--data-only"}, description = "Only rows (and sequence values), into existing empty tables.")
  boolean dataOnly;

  @Option(names = {"-s", "--schema-only"}, description = "Only definitions, no rows.")
  boolean schemaOnly;

  @Option(names = {"-c", "--clean"}, description = "Drop the restored objects first if they exist in the target.")
  boolean clean;

  @Option(names = "--if-exists", description = "With --clean: DROP ... IF EXISTS (no error for what is absent).")
  boolean ifExists;

  @picocli.CommandLine.Mixin
  EncryptionKeyOption encryption;

  @Option(names = "--with-globals",
      description = "First create the roles and tablespaces of the backup's cluster that the target server lacks "
          + "(existing ones are left unchanged; no passwords).")
  boolean withGlobals;

  @Option(names = "--into-source",
      description = "Allow restoring into the very database the backup was taken from (with --clean or a selection).")
  boolean intoSource;

  @Override
  public Integer call() throws Exception {
    if (jobs < 1 || jobs > 64) {
      throw new UserError("--jobs " + jobs + " is out of range: give 1 to 64");
    }
    if (dataOnly && schemaOnly) {
      throw new UserError("--data-only and --schema-only exclude each other: give one of them, or neither");
    }
    if (dataOnly && clean) {
      throw new UserError("--clean drops and recreates definitions, which --data-only does not restore: give one");
    }
    if (ifExists && !clean) {
      throw new UserError("--if-exists only applies with --clean: add --clean or drop --if-exists");
    }
    RestoreSelection chosen = new RestoreSelection(schemas, tables, excludeTables);
    for (String p : concat(schemas, tables, excludeTables)) {
      try {
        io.pgfleet.common.pg.PsqlPattern.check(p);
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
    }
    Restorer.Mode mode = dataOnly ? Restorer.Mode.DATA_ONLY : schemaOnly ? Restorer.Mode.SCHEMA_ONLY : Restorer.Mode.ALL;
    PgConnectionInfo to = PgConnectionInfo.parse(target);
    Storage storage = selection.open();
    Manifest m = selection.find(storage);
    if (m.archiveMode()) {
      throw new UserError(Restorer.archiveModeMessage(m));
    }
    if (withGlobals && m.globals() == null) {
      throw new UserError("backup " + m.backupId() + " has no globals artifact (it was taken before pgfleet dumped"
          + " roles and tablespaces): restore without --with-globals, creating the roles first or adding --no-owner");
    }
    System.err.println("pgfleet: restoring backup " + m.backupId() + " of " + m.cluster() + "/" + m.database()
        + " into " + to.redacted());
    ProgressPrinter printer = new ProgressPrinter(System.err);
    long t0 = System.nanoTime();
    Restorer.Result result;
    // Locked for the whole restore, so retention does not delete the backup while it is read.
    try (io.pgfleet.common.repository.BackupLocks.Lock lock =
             BackupSelection.lock(storage, m, "restore")) {
      result = new Restorer(storage, PgTools.fromEnvironment(), printer::restore, encryption.key())
          .restore(m, to, new Restorer.Options(jobs, noOwner, chosen, mode, clean, ifExists, intoSource,
              withGlobals));
    } catch (Restorer.RestoreException e) {
      printer.done();
      throw new UserError(e.getMessage());
    }
    printer.done();
    for (String note : result.notes()) {
      System.err.println("pgfleet: note: " + note);
    }
    System.err.printf("pgfleet: restored backup %s into %s: %d tables, %s rows in %.1f s%n", m.backupId(),
        to.redacted(), result.tables(), Formats.count(result.rows()), (System.nanoTime() - t0) / 1e9);
    return 0;
  }

  @SafeVarargs
  private static List<String> concat(List<String>... lists) {
    return Stream.of(lists).flatMap(List::stream).toList();
  }
}
