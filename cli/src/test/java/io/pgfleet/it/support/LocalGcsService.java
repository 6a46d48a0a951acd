package io.pgfleet.it.support;

import com.google.cloud.storage.Storage;
import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import java.util.function.Supplier;

/**
 * One in-memory GCS (google-cloud-nio's LocalStorageHelper) per test JVM, handed to the CLI through the
 * {@code pgfleet.test.gcs-helper-service} hook so that backup, list, verify and restore, each opening the
 * repository anew, all see the same objects.
 */
public final class LocalGcsService implements Supplier<Storage> {
  public static final String PROPERTY = "pgfleet.test.gcs-helper-service";
  private static Storage service;

  /** The shared service; the first call creates it (LocalStorageHelper.getOptions() empties its store). */
  public static synchronized Storage service() {
    if (service == null) {
      service = LocalStorageHelper.getOptions().getService();
    }
    return service;
  }

  @Override
  public Storage get() {
    return service();
  }
}
