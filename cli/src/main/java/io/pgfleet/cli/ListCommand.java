package io.pgfleet.cli;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.repository.RestoreTestReport;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "list", description = "List the backups in a repository, newest first.")
final class ListCommand implements Callable<Integer> {
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  @Option(names = "--repo", required = true, description = "Repository: a directory, gs://BUCKET/PREFIX or s3://BUCKET/PREFIX.")
  String repo;

  @Override
  public Integer call() throws Exception {
    io.pgfleet.common.storage.Storage storage = Repositories.forReading(repo);
    List<Manifest> all = new BackupCatalog(storage).list();
    java.util.Map<String, String> tests = RestoreTestReport.latestKeys(storage);
    if (all.isEmpty()) {
      System.err.println("pgfleet: no backups in " + repo);
      return 0;
    }
    System.out.printf("%-24s %-20s %-24s %-20s %10s %7s %12s  %-20s%n", "BACKUP", "CLUSTER", "DATABASE", "FINISHED",
        "SIZE", "TABLES", "ROWS", "VERIFIED");
    for (Manifest m : all) {
      // An archive-mode backup has no per-table record: its TABLES column names its pg_dump format instead. An
      // encrypted backup's tables and rows are in its manifest's sealed part: 'pgfleet show' with the key has them.
      System.out.printf("%-24s %-20s %-24s %-20s %10s %7s %12s  %-20s%n", m.backupId(), m.cluster(), m.database(),
          TIME.format(m.finishedAt()), Formats.bytes(m.totalBytes()),
          m.archiveMode() ? m.archive().format() : m.hasSealedPart() ? "sealed" : Long.toString(m.tableCount()),
          m.archiveMode() ? "-" : m.hasSealedPart() ? "sealed" : Formats.count(m.totalRows()),
          verified(storage, tests.get(RepositoryLayout.backupPrefix(m.cluster(), m.database(), m.backupId()))));
    }
    return 0;
  }

  /** The last restore test: its time when it passed, FAILED when it did not, - when there was none. */
  private static String verified(io.pgfleet.common.storage.Storage storage, String key) {
    if (key == null) {
      return "-";
    }
    try {
      RestoreTestReport r = RestoreTestReport.read(storage, key);
      return r.passed() ? TIME.format(r.finishedAt()) : "FAILED";
    } catch (Exception e) {
      return "unreadable";
    }
  }
}
