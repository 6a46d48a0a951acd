package io.pgfleet.cli;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.RestoreTestReport;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.worker.restoretest.RestoreTester;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "restore-test", description = {
    "Prove a backup restores: restore it into a scratch database on a sandbox server, check every table's row count "
        + "and content digest against the manifest, run the assertions, drop the scratch database. Writes the result "
        + "to the backup's verify/ folder. Exit 0 when it passed, 1 when it failed."})
final class RestoreTestCommand implements Callable<Integer> {
  @Mixin
  BackupSelection selection;

  @Option(names = "--sandbox", required = true, paramLabel = "URL",
      description = "The server to restore into, as postgresql://user[:password]@host[:port]/postgres; the role "
          + "needs CREATEDB. The database part is only where pgfleet connects to create the scratch database.")
  String sandbox;

  @Option(names = "--assert", paramLabel = "SQL",
      description = "A query that must return exactly one row of one boolean true in the restored database "
          + "(repeatable).")
  List<String> assertions = new ArrayList<>();

  @Option(names = "--scratch-prefix", defaultValue = "pgfleet_rt_",
      description = "Prefix of the scratch database's name, followed by the backup id (default ${DEFAULT-VALUE}).")
  String scratchPrefix;

  @Mixin
  EncryptionKeyOption encryption;

  @Override
  public Integer call() throws Exception {
    if (!scratchPrefix.matches("[a-z_][a-z0-9_]{0,30}")) {
      throw new UserError("--scratch-prefix '" + scratchPrefix + "' is not valid: use 1-31 of a-z 0-9 _, starting"
          + " with a letter or _");
    }
    PgConnectionInfo to = PgConnectionInfo.parse(sandbox);
    Storage storage = Repositories.forWriting(selection.repo);
    Manifest m = selection.find(storage);
    String scratch = RestoreTester.scratchDatabase(scratchPrefix, m.backupId());
    System.err.println("pgfleet: restore test of backup " + m.backupId() + " of " + m.cluster() + "/"
        + m.database() + " in " + scratch + " on " + to.endpoint());
    RestoreTestReport r = new RestoreTester(storage, PgTools.fromEnvironment(), encryption.key(), Main.version())
        .test(m, to, scratchPrefix, assertions, null);
    String key = r.write(storage);
    var out = System.out;
    if (!r.tables().isEmpty()) {
      out.printf("%-48s %14s %14s  %-6s %s%n", "TABLE", "ROWS", "EXPECTED", "RESULT", "DIGEST");
      for (RestoreTestReport.TableCheck t : r.tables()) {
        out.printf("%-48s %14s %14s  %-6s %s%n", t.table().schema() + "." + t.table().name(),
            t.rows() == null ? "-" : Formats.count(t.rows()), Formats.count(t.expectedRows()), t.ok() ? "ok" : "FAIL",
            t.digest() == null ? "-" : t.digest().equals(t.expectedDigest()) || t.expectedDigest() == null
                ? t.digest() : t.digest() + " (manifest: " + t.expectedDigest() + ")");
      }
    }
    for (RestoreTestReport.AssertionCheck a : r.assertions()) {
      out.printf("assertion %-6s %s%s%n", a.ok() ? "ok" : "FAIL", a.sql().replaceAll("\\s+", " ").trim(),
          a.error() == null ? "" : " (" + a.error() + ")");
    }
    if (r.passed()) {
      System.err.printf("pgfleet: restore test of backup %s passed: %d tables, %s rows, %d assertions in %s (%s)%n",
          m.backupId(), r.tables().size(), Formats.count(r.rowsChecked()), r.assertions().size(),
          Formats.duration(java.time.Duration.ofMillis(r.durationMillis())), key);
      return 0;
    }
    for (String f : r.failures()) {
      System.err.println("pgfleet: FAILED: " + f);
    }
    System.err.println("pgfleet: restore test of backup " + m.backupId() + " FAILED: " + summary(r) + " (" + key
        + ")");
    return 1;
  }

  /** One line naming what failed: the tables, the assertions, or the restore. */
  static String summary(RestoreTestReport r) {
    List<String> parts = new ArrayList<>();
    List<String> tables = r.tables().stream().filter(t -> !t.ok()).map(t -> t.table().qualified()).toList();
    if (!tables.isEmpty()) {
      parts.add("table" + (tables.size() == 1 ? " " : "s ") + String.join(", ", tables) + " differ"
          + (tables.size() == 1 ? "s" : "") + " from the manifest");
    }
    long assertions = r.assertions().stream().filter(a -> !a.ok()).count();
    if (assertions > 0) {
      parts.add(assertions + " assertion" + (assertions == 1 ? "" : "s") + " failed");
    }
    if (parts.isEmpty()) {
      parts.add(r.failures().isEmpty() ? "unknown" : r.failures().get(0));
    }
    return String.join("; ", parts);
  }
}
