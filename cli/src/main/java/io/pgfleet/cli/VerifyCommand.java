package io.pgfleet.cli;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.repository.BackupVerifier;
import io.pgfleet.common.storage.FileSystemStorage;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "verify", description = "Re-read every artifact of a backup and check its size and SHA-256.")
final class VerifyCommand implements Callable<Integer> {
  @Option(names = "--repo", required = true, description = "Repository directory.")
  String repo;

  @Option(names = "--backup", required = true, description = "Backup id, or 'latest'.")
  String backup;

  @Option(names = "--database", description = "With 'latest': the newest backup of this database.")
  String database;

  @Override
  public Integer call() throws Exception {
    FileSystemStorage storage = Repositories.forReading(repo);
    Manifest m;
    try {
      m = new BackupCatalog(storage).find(backup, Optional.ofNullable(database));
    } catch (io.pgfleet.common.storage.StorageException e) {
      throw new UserError(e.getMessage());
    }
    BackupVerifier.Result r = new BackupVerifier(storage).verify(m);
    if (r.ok()) {
      System.out.printf("backup %s OK: %d artifacts, %s checked%n", m.backupId(), r.checked(),
          Formats.bytes(r.bytes()));
      return 0;
    }
    for (BackupVerifier.Problem p : r.problems()) {
      System.err.println("pgfleet: BAD artifact " + p);
    }
    System.err.printf("pgfleet: backup %s FAILED verification: %d of %d artifacts bad%n", m.backupId(),
        r.problems().size(), r.checked());
    return 1;
  }
}
