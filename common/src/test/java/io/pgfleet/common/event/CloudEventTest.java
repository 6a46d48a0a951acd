package io.pgfleet.common.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.task.Chunk;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class CloudEventTest {

  @Test
  void ofFillsTheCloudEventsAttributes() {
    Instant before = Instant.now();
    Payloads.BackupStarted data = new Payloads.BackupStarted("20240102T030405Z-abcdef", 12, "00000003-1", "16.2",
        List.of("table public.events (~731 MB of COPY text) split into 6 chunks by ctid range"));
    CloudEvent e = CloudEvent.of("pgfleet/coordinator", EventTypes.BACKUP_STARTED, "prod", "sales", "run-1",
        "20240102T030405Z-abcdef", null, data);
    Instant after = Instant.now();
    assertThat(e.specversion()).isEqualTo("1.0");
    assertThat(e.subject()).isEqualTo("prod/sales");
    assertThat(e.type()).isEqualTo("io.pgfleet.backup.started");
    assertThat(e.source()).isEqualTo("pgfleet/coordinator");
    assertThat(e.datacontenttype()).isEqualTo("application/json");
    assertThat(e.runid()).isEqualTo("run-1");
    assertThat(e.backupid()).isEqualTo("20240102T030405Z-abcdef");
    assertThat(e.taskid()).isNull();
    assertThat(UUID.fromString(e.id()).toString()).isEqualTo(e.id());
    assertThat(e.time()).isBetween(before, after);
    assertThat(e.dataAs(Payloads.BackupStarted.class)).isEqualTo(data);
  }

  @Test
  void idsAreUnique() {
    CloudEvent a = CloudEvent.of("s", EventTypes.TASK_PROGRESS, "c", "d", "r", "b", "t",
        new Payloads.TaskProgress("t", 1, 2, 3));
    CloudEvent b = CloudEvent.of("s", EventTypes.TASK_PROGRESS, "c", "d", "r", "b", "t",
        new Payloads.TaskProgress("t", 1, 2, 3));
    assertThat(a.id()).isNotEqualTo(b.id());
  }

  @Test
  void jsonRoundTripKeepsAttributesAndData() throws Exception {
    ArtifactEntry artifact = new ArtifactEntry("data/00001.copy.zst", "table-data", new TableRef("public", "Ünï"),
        List.of("id", "name"), 5_000_000_000L, 9_000_000_000L, 1_234_567_890L, "ab".repeat(32), "cd".repeat(16),
        "rowsum128-sha256", "zstd", "none", "task-7", Chunk.ctid(2, 3, 100L, 200L), 1234L);
    Payloads.TaskCompleted data = new Payloads.TaskCompleted("task-7", "table-data", 2, "worker-a", artifact, null);
    CloudEvent e = CloudEvent.of("pgfleet/worker/worker-a", EventTypes.TASK_COMPLETED, "prod eu", "sales", "run-9",
        "20240102T030405Z-abcdef", "task-7", data);

    String wire = Json.write(e);
    CloudEvent back = Json.read(wire, CloudEvent.class);

    assertThat(back.specversion()).isEqualTo("1.0");
    assertThat(back.id()).isEqualTo(e.id());
    assertThat(back.source()).isEqualTo(e.source());
    assertThat(back.type()).isEqualTo(EventTypes.TASK_COMPLETED);
    assertThat(back.subject()).isEqualTo("prod eu/sales");
    assertThat(back.time()).isEqualTo(e.time());
    assertThat(back.datacontenttype()).isEqualTo("application/json");
    assertThat(back.runid()).isEqualTo("run-9");
    assertThat(back.backupid()).isEqualTo("20240102T030405Z-abcdef");
    assertThat(back.taskid()).isEqualTo("task-7");
    assertThat(back.dataAs(Payloads.TaskCompleted.class)).isEqualTo(data);
    assertThat(back.dataAs(Payloads.TaskCompleted.class).artifact().rows()).isEqualTo(5_000_000_000L);

    // A second trip is stable byte for byte.
    assertThat(Json.write(Json.read(wire, CloudEvent.class))).isEqualTo(wire);
  }

  @Test
  void wireFormIsStructuredCloudEventsJson() throws Exception {
    CloudEvent e = CloudEvent.of("pgfleet/coordinator", EventTypes.BACKUP_FAILED, "c", "d", "r", "b", null,
        new Payloads.BackupFailed("b", "boom", Payloads.BackupFailed.STORAGE));
    JsonNode n = Json.MAPPER.readTree(Json.write(e));
    assertThat(n.get("specversion").asText()).isEqualTo("1.0");
    assertThat(n.get("subject").asText()).isEqualTo("c/d");
    assertThat(n.get("datacontenttype").asText()).isEqualTo("application/json");
    // CloudEvents requires time as an RFC 3339 string, not a number.
    assertThat(n.get("time").isTextual()).isTrue();
    assertThat(Instant.parse(n.get("time").asText())).isEqualTo(e.time());
    // absent optional attributes are left out, not written as null
    assertThat(n.has("taskid")).isFalse();
    assertThat(n.get("data").get("reason").asText()).isEqualTo("boom");
    assertThat(n.get("data").get("backupId").asText()).isEqualTo("b");
    assertThat(Duration.between(e.time(), Instant.now())).isLessThan(Duration.ofMinutes(1));
  }

  @Test
  void eventWithOnlyIntAndStringDataIsEqualAfterRoundTrip() throws Exception {
    CloudEvent e = CloudEvent.of("s", EventTypes.BACKUP_STARTED, "c", "d", "r", "b", null,
        new Payloads.BackupStarted("b", 3, "snap", "16.2", List.of()));
    assertThat(Json.read(Json.write(e), CloudEvent.class)).isEqualTo(e);
  }

  @Test
  void backupFailedWithoutCategoryStillReads() throws Exception {
    // Events written before the category existed carry only backupId and reason.
    CloudEvent old = Json.read("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\""
        + EventTypes.BACKUP_FAILED + "\",\"subject\":\"c/d\",\"data\":{\"backupId\":\"b\",\"reason\":\"boom\"}}",
        CloudEvent.class);
    assertThat(old.dataAs(Payloads.BackupFailed.class)).isEqualTo(new Payloads.BackupFailed("b", "boom", null));
    String wire = Json.write(CloudEvent.of("s", EventTypes.BACKUP_FAILED, "c", "d", "r", "b", null,
        new Payloads.BackupFailed("b", "boom", null)));
    assertThat(Json.MAPPER.readTree(wire).get("data").has("category")).isFalse();
  }
}
