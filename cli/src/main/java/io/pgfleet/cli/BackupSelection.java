package io.pgfleet.cli;

import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import java.io.IOException;
import java.util.Optional;
import picocli.CommandLine.Option;

/** The options that pick one backup of a repository, shared by the commands that read a backup. */
final class BackupSelection {
  @Option(names = "--repo", required = true, description = "Repository: a directory, gs://BUCKET/PREFIX or s3://BUCKET/PREFIX.")
  String repo;

  @Option(names = "--backup", required = true, description = "Backup id, or 'latest'.")
  String backup;

  @Option(names = "--database", description = "With 'latest': the newest backup of this database.")
  String database;

  Storage open() {
    return Repositories.forReading(repo);
  }

  /**
   * Locks the backup while it is read (retention leaves it alone). A repository this process may only read (read-only
   * credentials, a read-only mount) cannot hold a lock: the read goes on, with a warning, unprotected.
   */
  static io.pgfleet.common.repository.BackupLocks.Lock lock(Storage storage, Manifest m, String purpose) {
    try {
      return io.pgfleet.common.repository.BackupLocks.acquire(storage, m, purpose);
    } catch (IOException | RuntimeException e) {
      System.err.println("pgfleet: warning: cannot lock backup " + m.backupId() + " in " + storage.describe()
          + " (" + e.getMessage() + "); reading it unlocked, so retention could delete it meanwhile");
      return null;
    }
  }

  Manifest find(Storage storage) throws IOException {
    try {
      return new BackupCatalog(storage).find(backup, Optional.ofNullable(database));
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }
}
