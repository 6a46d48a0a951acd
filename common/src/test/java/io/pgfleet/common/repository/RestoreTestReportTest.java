package io.pgfleet.common.repository;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.storage.FileSystemStorage;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The verify/ file: where it goes, the fields docs/repository-format.md promises, and reading it back. */
class RestoreTestReportTest {
  @TempDir
  Path dir;

  private static RestoreTestReport report(String backupId, boolean passed, Instant finished) {
    return new RestoreTestReport(backupId, "main", "shop db", RestoreTestReport.KIND, passed,
        finished.minusSeconds(5), finished, "sandbox.internal:5433", "pgfleet_rt_x",
        List.of(new RestoreTestReport.TableCheck(new TableRef("public", "Orders"), 3, 10, 10L,
            "0".repeat(31) + "a", "0".repeat(31) + (passed ? "a" : "b"), passed)),
        List.of(new RestoreTestReport.AssertionCheck("SELECT true", true, null)),
        passed ? List.of() : List.of("table \"public\".\"Orders\": content digest differs"),
        new RestoreTestReport.Timings(3000, 1500, 10, 5000), "1.2.3", null);
  }

  @Test
  void theFileSitsInTheBackupsVerifyFolderNamedByItsTime() {
    RestoreTestReport r = report("20261125T224524Z-3fa2c1", true, Instant.parse("2026-11-26T01:02:03.456Z"));
    assertThat(r.key()).isEqualTo("main/shop%20db/20261125T224524Z-3fa2c1/verify/20261126T010203456Z.json");
    assertThat(RestoreTestReport.isResult(r.key())).isTrue();
    assertThat(RestoreTestReport.isResult("main/db/20261125T224524Z-3fa2c1/manifest.json")).isFalse();
  }

  @Test
  void theJsonHoldsTheDocumentedFieldsAndNoCredentials() throws Exception {
    RestoreTestReport r = report("20261125T224524Z-3fa2c1", false, Instant.parse("2026-11-26T01:02:03.456Z"));
    JsonNode j = Json.MAPPER.readTree(Json.writePretty(r));
    assertThat(j.get("backupId").asText()).isEqualTo("20261125T224524Z-3fa2c1");
    assertThat(j.get("kind").asText()).isEqualTo("restore-test");
    assertThat(j.get("passed").asBoolean()).isFalse();
    assertThat(j.get("startedAt").asText()).isEqualTo("2026-11-26T01:01:58.456Z");
    assertThat(j.get("finishedAt").asText()).isEqualTo("2026-11-26T01:02:03.456Z");
    assertThat(j.get("sandbox").asText()).isEqualTo("sandbox.internal:5433");
    assertThat(j.get("scratchDatabase").asText()).isEqualTo("pgfleet_rt_x");
    assertThat(j.get("pgfleetVersion").asText()).isEqualTo("1.2.3");
    JsonNode t = j.get("tables").get(0);
    assertThat(t.get("table").get("name").asText()).isEqualTo("Orders");
    assertThat(t.get("expectedRows").asLong()).isEqualTo(10);
    assertThat(t.get("rows").asLong()).isEqualTo(10);
    assertThat(t.get("ok").asBoolean()).isFalse();
    assertThat(t.has("expectedDigest")).isTrue();
    assertThat(t.has("digest")).isTrue();
    assertThat(j.get("assertions").get(0).get("sql").asText()).isEqualTo("SELECT true");
    assertThat(j.get("failures").get(0).asText()).contains("\"public\".\"Orders\"");
    assertThat(j.get("timings").get("totalMillis").asLong()).isEqualTo(5000);
  }

  @Test
  void writtenResultsReadBackAndTheNewestOfEachBackupIsFound() throws Exception {
    FileSystemStorage s = FileSystemStorage.open(dir);
    Instant t = Instant.parse("2026-11-26T01:02:03.456Z");
    RestoreTestReport older = report("20261125T224524Z-3fa2c1", true, t);
    RestoreTestReport newer = report("20261125T224524Z-3fa2c1", false, t.plusSeconds(60));
    RestoreTestReport other = report("20261124T000000Z-000001", true, t);
    older.write(s);
    String newerKey = newer.write(s);
    String otherKey = other.write(s);
    assertThat(RestoreTestReport.read(s, newerKey)).isEqualTo(newer);
    assertThat(RestoreTestReport.latestKeys(s)).containsOnly(
        java.util.Map.entry("main/shop%20db/20261125T224524Z-3fa2c1/", newerKey),
        java.util.Map.entry("main/shop%20db/20261124T000000Z-000001/", otherKey));
  }
}
