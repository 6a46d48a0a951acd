package io.pgfleet.cli;

import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.common.storage.StorageException;
import java.nio.file.Path;

/** Opens the repository named by --repo. Only local directories exist today; gs:// and s3:// come next. */
final class Repositories {
  private Repositories() {}

  static FileSystemStorage forWriting(String repo) {
    Path p = path(repo);
    try {
      FileSystemStorage s = FileSystemStorage.open(p);
      s.checkWritable();
      return s;
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  static FileSystemStorage forReading(String repo) {
    try {
      return FileSystemStorage.openExisting(path(repo));
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  private static Path path(String repo) {
    if (repo == null || repo.isBlank()) {
      throw new UserError("--repo is empty: give the repository directory, e.g. --repo /var/backups/pgfleet");
    }
    if (repo.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
      throw new UserError("repository '" + repo + "': only local directories are supported in this version"
          + " (gs:// and s3:// are planned); give a directory path");
    }
    return Path.of(repo);
  }
}
