package io.pgfleet.coordinator.restoretest;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.repository.RestoreTestReport;
import io.pgfleet.common.storage.FileSystemStorage;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RestoreTestSchedulerTest {
  @TempDir
  Path dir;

  private static FleetConfig.RestoreTests config(int sampleEvery) {
    return new FleetConfig.RestoreTests(new FleetConfig.Sandbox("h", 5432, null, "u", null, "pgfleet_rt_"),
        List.of("*"), sampleEvery, Map.of(), Duration.ofHours(1));
  }

  @Test
  void theFirstBackupAfterStartAndThenOneInSampleEveryIsTestedPerDatabase() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      FileSystemStorage storage = FileSystemStorage.open(dir);
      RestoreTestScheduler s = new RestoreTestScheduler(vertx, storage, config(3), (m, a, t) -> null, null,
          new SimpleMeterRegistry(), "test");
      List<Boolean> a = new ArrayList<>();
      List<Boolean> b = new ArrayList<>();
      for (int i = 0; i < 7; i++) {
        a.add(s.sample("c/a"));
        if (i < 2) {
          b.add(s.sample("c/b"));
        }
      }
      assertThat(a).containsExactly(true, false, false, true, false, false, true);
      assertThat(b).containsExactly(true, false);
      s.close();
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  @Test
  void theLastPassedTestPerDatabaseIsReadBackFromTheRepository() throws Exception {
    FileSystemStorage storage = FileSystemStorage.open(dir);
    Instant t = Instant.parse("2026-11-26T01:00:00Z");
    write(storage, "db1", "20261120T000000Z-000001", true, t);
    write(storage, "db1", "20261121T000000Z-000002", true, t.plusSeconds(100));
    write(storage, "db1", "20261121T000000Z-000002", false, t.plusSeconds(200));
    write(storage, "db1", "20261122T000000Z-000003", false, t.plusSeconds(300));
    write(storage, "db2", "20261122T000000Z-000004", false, t);
    assertThat(RestoreTestScheduler.lastPassedInRepository(storage))
        .containsExactly(Map.entry("main/db1", t.plusSeconds(100)));
  }

  private static void write(FileSystemStorage s, String db, String backupId, boolean passed, Instant at)
      throws Exception {
    new RestoreTestReport(backupId, "main", db, RestoreTestReport.KIND, passed, at.minusSeconds(1), at, "h:5432",
        "x", List.of(), List.of(), passed ? List.of() : List.of("restore: failed"),
        new RestoreTestReport.Timings(0, 0, 0, 1000), "dev", null).write(s);
  }
}
