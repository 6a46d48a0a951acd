package io.pgfleet.storage.gcs;

import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageContract;
import java.util.Optional;

/**
 * The storage contract on GCS through google-cloud-nio's LocalStorageHelper, Google's in-memory fake of the
 * storage service: the real client library, resumable write channels, read channels with seek, listing and
 * delete, without a network. The helper's list paging is replaced by {@link PagingStorageService} (pages of 7), so
 * the paging case proves that GcsStorage walks every page. Kept beside GcsStorageFakeServerTest, which runs every
 * case over HTTP, as a cross-check with Google's own fake: the two were written apart.
 */
class GcsStorageLocalHelperTest extends StorageContract {
  @Override
  protected Storage createStorage() {
    // getOptions() empties the helper's single in-memory store: each test starts with no objects.
    com.google.cloud.storage.Storage service = PagingStorageService.wrap(LocalStorageHelper.getOptions().getService(), 7);
    return GcsStorage.on(service, new GcsLocation("pgfleet-test", "repo/prefix"),
        GcsStorage.Options.defaults().withListPageSize(7));
  }

  @Override
  protected int pagingKeyCount() {
    return 30;
  }

  @Override
  protected Optional<String> cannotRun(Capability capability) {
    return switch (capability) {
      case PRECONDITIONS -> Optional.of("LocalStorageHelper rejects the doesNotExist precondition"
          + " (UnsupportedOperationException), so createIfAbsent's atomic commit runs against FakeGcsServer"
          + " (GcsStorageFakeServerTest) and an emulator or a bucket (GcsStorageEmulatorTest)");
      case INVISIBLE_UNTIL_COMMIT -> Optional.of("LocalStorageHelper registers an empty object as soon as an upload"
          + " session opens, where GCS shows nothing until the session is finalized (GcsStorageFakeServerTest,"
          + " GcsStorageEmulatorTest)");
      default -> Optional.empty();
    };
  }
}
