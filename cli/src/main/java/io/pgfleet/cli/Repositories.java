package io.pgfleet.cli;

import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.common.storage.ResilientStorage;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import io.pgfleet.storage.gcs.GcsLocation;
import io.pgfleet.storage.gcs.GcsStorage;
import io.pgfleet.storage.s3.S3Location;
import io.pgfleet.storage.s3.S3Storage;
import java.nio.file.Path;

/**
 * Opens the repository named by --repo: a local directory, {@code gs://bucket/prefix} or {@code s3://bucket/prefix}
 * (AWS S3, or an S3-compatible server at {@code PGFLEET_S3_ENDPOINT}; see {@link io.pgfleet.storage.s3.S3Connection}).
 */
final class Repositories {
  private Repositories() {}

  /** The repository behind its resilience layer (retries with backoff, a circuit breaker): see ResilientStorage. */
  static Storage forWriting(String repo) {
    return forWriting(repo, ResilientStorage.Settings.DEFAULT);
  }

  /** As {@link #forWriting(String)}, with the retry and circuit settings of a fleet's configuration. */
  static Storage forWriting(String repo, ResilientStorage.Settings settings) {
    return ResilientStorage.wrap(openForWriting(repo), settings);
  }

  /** The repository behind its resilience layer, for reading. */
  static Storage forReading(String repo) {
    return ResilientStorage.wrap(openForReading(repo));
  }

  private static Storage openForWriting(String repo) {
    if (isS3(repo)) {
      S3Storage s = s3(repo);
      return checked(s, s::checkWritable);
    }
    if (isGcs(repo)) {
      GcsStorage s = gcs(repo);
      return checked(s, s::checkWritable);
    }
    Path p = path(repo);
    try {
      FileSystemStorage s = FileSystemStorage.open(p);
      s.checkWritable();
      return s;
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  private static Storage openForReading(String repo) {
    if (isS3(repo)) {
      S3Storage s = s3(repo);
      return checked(s, s::checkReadable);
    }
    if (isGcs(repo)) {
      GcsStorage s = gcs(repo);
      return checked(s, s::checkReadable);
    }
    try {
      return FileSystemStorage.openExisting(path(repo));
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  private interface Check {
    void run() throws StorageException;
  }

  /** The storage if its check passes; otherwise it is closed and the check's one-line message becomes the error. */
  private static Storage checked(Storage s, Check check) {
    try {
      check.run();
      return s;
    } catch (StorageException e) {
      try {
        s.close();
      } catch (java.io.IOException ignored) {
        // the check's failure is what the user needs to hear
      }
      throw new UserError(e.getMessage());
    }
  }

  private static boolean isGcs(String repo) {
    return repo != null && repo.regionMatches(true, 0, "gs://", 0, 5);
  }

  private static boolean isS3(String repo) {
    return repo != null && repo.regionMatches(true, 0, "s3://", 0, 5);
  }

  /** Endpoint, path style and region from the environment (or the pgfleet.s3.* system properties in tests). */
  private static S3Storage s3(String repo) {
    try {
      return S3Storage.open(S3Location.parse(repo));
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  /** Google's credential chain, or the emulator at STORAGE_EMULATOR_HOST (see {@link GcsStorage#open}). */
  private static GcsStorage gcs(String repo) {
    try {
      return GcsStorage.open(GcsLocation.parse(repo));
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  private static Path path(String repo) {
    if (repo == null || repo.isBlank()) {
      throw new UserError("--repo is empty: give the repository directory, e.g. --repo /var/backups/pgfleet");
    }
    if (repo.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
      throw new UserError("repository '" + repo + "': only local directories, gs://BUCKET/PREFIX and"
          + " s3://BUCKET/PREFIX are supported; give a directory path, a gs:// or an s3:// URL");
    }
    return Path.of(repo);
  }
}
