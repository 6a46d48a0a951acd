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

  Manifest find(Storage storage) throws IOException {
    try {
      return new BackupCatalog(storage).find(backup, Optional.ofNullable(database));
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }
}
