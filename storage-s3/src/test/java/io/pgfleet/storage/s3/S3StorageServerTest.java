package io.pgfleet.storage.s3;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageContract;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The whole storage contract, the concurrent commit race included, against an S3 server of your choice: the bucket
 * {@code PGFLEET_TEST_S3_BUCKET} (it must exist) on AWS S3, or on the S3-compatible server at
 * {@code PGFLEET_S3_ENDPOINT} (e.g. MinIO), with credentials from the AWS default chain. Each test writes under its
 * own random prefix and deletes what it wrote. Skipped, saying so, when the bucket variable is not set.
 */
class S3StorageServerTest extends StorageContract {
  private static final String BUCKET = System.getenv("PGFLEET_TEST_S3_BUCKET");
  private final List<S3Storage> opened = new ArrayList<>();

  @BeforeAll
  static void configured() {
    assumeTrue(BUCKET != null && !BUCKET.isBlank(), "set PGFLEET_TEST_S3_BUCKET (an existing bucket; with"
        + " PGFLEET_S3_ENDPOINT for MinIO or another S3-compatible server, credentials from the AWS default chain)"
        + " to run the storage contract against a real S3 server");
  }

  @Override
  protected Storage createStorage() throws Exception {
    S3Storage s = S3Storage.open(new S3Location(BUCKET, "pgfleet-contract/" + UUID.randomUUID()),
        S3Connection.fromEnvironment(), S3Storage.Options.defaults().withPartSize(5 << 20).withListPageSize(50));
    opened.add(s);
    return s;
  }

  @Override
  protected int pagingKeyCount() {
    return 120;
  }

  @Override
  protected int raceRounds() {
    return 3;
  }

  @AfterEach
  void removeWhatWasWritten() throws Exception {
    for (S3Storage s : opened) {
      for (var o : s.list("")) {
        s.delete(o.key());
      }
      s.close();
    }
  }
}
