package io.pgfleet.common.storage;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The shared storage contract on a local directory; every case runs (a directory has no list pages). */
class FileSystemStorageContractTest extends StorageContract {
  @TempDir Path tmp;

  @Override
  protected Storage createStorage() throws Exception {
    return FileSystemStorage.open(tmp.resolve("repo"));
  }

  @Override
  protected int pagingKeyCount() {
    return 1200;
  }
}
