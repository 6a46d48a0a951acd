package io.pgfleet.common.storage;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The resilience layer keeps the storage contract: a directory behind it passes every case. */
class ResilientStorageContractTest extends StorageContract {
  @TempDir Path tmp;

  @Override
  protected Storage createStorage() throws Exception {
    return ResilientStorage.wrap(FileSystemStorage.open(tmp.resolve("repo")));
  }

  @Override
  protected int pagingKeyCount() {
    return 300;
  }
}
