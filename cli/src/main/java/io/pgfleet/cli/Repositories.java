package io.pgfleet.cli;

import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import io.pgfleet.storage.gcs.GcsLocation;
import io.pgfleet.storage.gcs.GcsStorage;
import io.pgfleet.storage.s3.S3Location;
import io.pgfleet.storage.s3.S3Storage;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Opens the repository named by --repo: a local directory, {@code gs://bucket/prefix} or {@code s3://bucket/prefix}
 * (AWS S3, or an S3-compatible server at {@code PGFLEET_S3_ENDPOINT}; see {@link io.pgfleet.storage.s3.S3Connection}).
 */
final class Repositories {
  /**
   * Test hook, never set in production: the name of a class implementing
   * {@code Supplier<com.google.cloud.storage.Storage>} that hands out google-cloud-nio's in-memory LocalStorageHelper
   * service, so ITs run the real CLI against "GCS" without a network. Because that helper rejects preconditions,
   * a repository opened through this hook commits manifests by check-then-write under a JVM lock
   * ({@link GcsStorage.Options#withCheckThenWriteCommitForTestHelper()}); a real gs:// repository always commits with
   * the doesNotExist precondition.
   */
  static final String GCS_TEST_SERVICE_PROPERTY = "pgfleet.test.gcs-helper-service";

  private Repositories() {}

  static Storage forWriting(String repo) {
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

  static Storage forReading(String repo) {
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

  private static GcsStorage gcs(String repo) {
    try {
      GcsLocation location = GcsLocation.parse(repo);
      String hook = System.getProperty(GCS_TEST_SERVICE_PROPERTY);
      if (hook != null) {
        return GcsStorage.on(testService(hook), location,
            GcsStorage.Options.defaults().withCheckThenWriteCommitForTestHelper());
      }
      return GcsStorage.open(location);
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
  }

  @SuppressWarnings("unchecked")
  private static com.google.cloud.storage.Storage testService(String className) {
    try {
      Supplier<com.google.cloud.storage.Storage> supplier = (Supplier<com.google.cloud.storage.Storage>)
          Class.forName(className).getDeclaredConstructor().newInstance();
      return supplier.get();
    } catch (ReflectiveOperationException | ClassCastException e) {
      throw new IllegalStateException(GCS_TEST_SERVICE_PROPERTY + "=" + className + " is not a usable supplier", e);
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
