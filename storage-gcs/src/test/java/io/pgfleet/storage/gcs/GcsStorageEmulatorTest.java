package io.pgfleet.storage.gcs;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.cloud.NoCredentials;
import com.google.cloud.storage.StorageOptions;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageContract;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The whole storage contract against a real GCS-API server, every case included: an emulator
 * ({@code PGFLEET_TEST_GCS_EMULATOR=host:port}, e.g. fake-gcs-server from the docker-compose stack; the bucket
 * {@code PGFLEET_TEST_GCS_BUCKET}, default "pgfleet-test", must exist) or a real bucket
 * ({@code PGFLEET_TEST_GCS_BUCKET} alone, with application default credentials). Each test writes under its own
 * random prefix and deletes what it wrote. Skipped, saying so, when neither variable is set.
 */
class GcsStorageEmulatorTest extends StorageContract {
  private static final String EMULATOR = System.getenv("PGFLEET_TEST_GCS_EMULATOR");
  private static final String BUCKET = System.getenv("PGFLEET_TEST_GCS_BUCKET");
  private final List<GcsStorage> opened = new ArrayList<>();
  private com.google.cloud.storage.Storage service;

  @BeforeAll
  static void configured() {
    assumeTrue(EMULATOR != null || BUCKET != null, "set PGFLEET_TEST_GCS_EMULATOR=host:port (an emulator with the"
        + " bucket PGFLEET_TEST_GCS_BUCKET, default pgfleet-test) or PGFLEET_TEST_GCS_BUCKET (a real bucket, with"
        + " application default credentials) to run the storage contract against GCS");
  }

  @Override
  protected Storage createStorage() {
    if (EMULATOR != null) {
      String host = EMULATOR.contains("://") ? EMULATOR : "http://" + EMULATOR;
      service = StorageOptions.http().setHost(host).setProjectId("pgfleet-test")
          .setCredentials(NoCredentials.getInstance()).build().getService();
    } else {
      service = StorageOptions.getDefaultInstance().getService();
    }
    String bucket = BUCKET != null ? BUCKET : "pgfleet-test";
    GcsStorage s = GcsStorage.on(service, new GcsLocation(bucket, "pgfleet-contract/" + UUID.randomUUID()),
        GcsStorage.Options.defaults().withListPageSize(50));
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
    for (GcsStorage s : opened) {
      for (var o : s.list("")) {
        s.delete(o.key());
      }
    }
    if (service != null) {
      service.close();
    }
  }
}
