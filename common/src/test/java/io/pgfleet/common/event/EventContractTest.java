package io.pgfleet.common.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.task.Chunk;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every payload, built with the values the coordinator and the workers pass (nulls included) and written the way
 * {@link EventPublisher} writes it, conforms to the schema of its type in docs/events; events that break the
 * contract do not; and every type pgfleet declares has a schema and a row in the index.
 */
class EventContractTest {
  private static final String COORDINATOR = "/pgfleet/coordinator";
  private static final String WORKER = "/pgfleet/worker/standalone-3fa2c1-w1";
  private static final String RUN = UUID.randomUUID().toString();
  private static final String BACKUP = "20261125T230717Z-8fe4fd";
  private static final TableRef TABLE = new TableRef("public", "Ünï \"quoted\"");
  private static final String SHA = "09531a7a5e23ffe8a570e866d7503dc78e4a09492ea62d33da1dca691c8c7a3d";

  @Test
  void everyDeclaredTypeHasASchemaNamedForItAndARowInTheIndex() {
    String readme = EventSchemas.readme();
    List<String> types = EventSchemas.declaredTypes();
    assertThat(types).contains(EventTypes.BACKUP_STARTED, EventTypes.TASK_COMPLETED);
    for (String type : types) {
      assertThat(EventSchemas.exists(type)).as("docs/events/%s exists", EventSchemas.fileName(type)).isTrue();
      assertThat(EventSchemas.schema(type)).as("%s loads, its $refs resolved", type).isNotNull();
      JsonNode schema = EventSchemas.parse(EventSchemas.resource(EventSchemas.fileName(type)));
      assertThat(schema.path("$id").asText()).isEqualTo(EventSchemas.ID_BASE + EventSchemas.fileName(type));
      assertThat(schema.path("properties").path("type").path("const").asText()).as("type const of %s", type)
          .isEqualTo(type);
      assertThat(readme).as("docs/events/README.md indexes %s", type)
          .containsPattern("\\| `" + type.replace(".", "\\.") + "` \\| \\[" + EventSchemas.fileName(type)
              .replace(".", "\\.") + "\\]\\(" + EventSchemas.fileName(type).replace(".", "\\.") + "\\) \\|");
    }
  }

  @Test
  void aTypeWithoutASchemaIsReportedNotPassed() {
    JsonNode e = wire(CloudEvent.of(COORDINATOR, "io.pgfleet.brand.new", "prod", "sales", RUN, BACKUP, null,
        new Payloads.BackupFailed(BACKUP, "x", null)));
    assertThat(EventSchemas.violations(e)).singleElement().asString().contains("no schema");
  }

  static Stream<Arguments> emitted() {
    ArtifactEntry table = new ArtifactEntry("data/00001.5e3b90c7.copy.zst", "table-data", TABLE,
        List.of("id", "note"), 3, 24, 40, SHA, "688d7404ee08c6685ecc90cb8220ed18", "rowsum128-sha256", "zstd", "none",
        BACKUP + "/t00001", null, 12L);
    ArtifactEntry ctidChunk = new ArtifactEntry("data/00001-0007.84819cd8.copy.zst", "table-data", TABLE,
        List.of("id"), 385638, 109757295, 24259434, SHA, "93276915a8e1def2fa30bb731de884aa", "rowsum128-sha256",
        "zstd", "aes-256-gcm", BACKUP + "/t00001-0007", Chunk.ctid(7, 7, 89793L, null), 1546L);
    ArtifactEntry keyChunk = new ArtifactEntry("data/00002-0001.0b1c2d3e.copy.zst", "table-data",
        new TableRef("s", "t"), List.of("id", "v"), 10, 100, 50, SHA, "00ff", "rowsum128-sha256", "zstd", "none",
        BACKUP + "/t00002-0001", Chunk.key(1, 3, "id", null, 1000L), 5L);
    ArtifactEntry schema = new ArtifactEntry("schema.1a2b3c4d.dump", "schema", null, null, 0, 9000, 4000, SHA, null,
        null, "pg_dump-custom", "none", BACKUP + "/schema", null, 300L);
    ArtifactEntry globals = new ArtifactEntry("globals.1a2b3c4d.sql", "globals", null, null, 0, 900, 900, SHA, null,
        null, "none", "none", BACKUP + "/globals", null, 80L);
    ArtifactEntry custom = new ArtifactEntry("archive.0f71e837.dump", "pg-dump-custom", null, null, 0, 5000, 5000,
        SHA, null, null, "pg_dump-custom", "none", BACKUP + "/archive", null, 700L);
    ArtifactEntry dirFile = new ArtifactEntry("archive.0f71e837/toc.dat", "pg-dump-directory", null, null, 0, 2000,
        2000, SHA, null, null, "pg_dump-directory", "none", BACKUP + "/archive", null, 700L);
    // A directory archive as a whole has no digest of its own: its files do.
    ArtifactEntry dir = new ArtifactEntry("archive.0f71e837/", "pg-dump-directory", null, null, 0, 2000, 2000, null,
        null, null, "pg_dump-directory", "none", BACKUP + "/archive", null, 700L);
    return Stream.of(
        named("backup.scheduled (fleet)", CloudEvent.of("/pgfleet/coordinator/fleet-a", EventTypes.BACKUP_SCHEDULED,
            "prod", "sales", RUN, null, null, new Payloads.BackupScheduled("schedule", 1))),
        named("backup.scheduled retry", CloudEvent.of("/pgfleet/coordinator/fleet-a", EventTypes.BACKUP_SCHEDULED,
            "prod", "sales", RUN, null, null, new Payloads.BackupScheduled("retry", 2))),
        named("backup.started", backup(EventTypes.BACKUP_STARTED, new Payloads.BackupStarted(BACKUP, 9,
            "00000002-00007F73-1", "15.20 (Debian 15.20-0+deb12u1)",
            List.of("table \"public\".\"events\" (~805 MB of COPY text) split into 7 chunks by ctid range")))),
        named("backup.started without notes", backup(EventTypes.BACKUP_STARTED, new Payloads.BackupStarted(BACKUP,
            1, "00000002-00007F73-1", "15.20", List.of()))),
        named("backup.completed", backup(EventTypes.BACKUP_COMPLETED, new Payloads.BackupCompleted(BACKUP,
            "127-0-0-1-5432/sales/" + BACKUP + "/manifest.json", 1, 3, 1405, 1164))),
        named("backup.completed archive", backup(EventTypes.BACKUP_COMPLETED, new Payloads.BackupCompleted(BACKUP,
            "prod/sales/" + BACKUP + "/manifest.json", 0, 0, 5000, 0))),
        named("backup.failed", backup(EventTypes.BACKUP_FAILED, new Payloads.BackupFailed(BACKUP,
            "cannot start the backup: database \"nope\" does not exist", Payloads.BackupFailed.DATABASE))),
        named("backup.failed without category", backup(EventTypes.BACKUP_FAILED, new Payloads.BackupFailed(BACKUP,
            "the coordinator stopped before the run ended", null))),
        named("task.started table", task(EventTypes.TASK_STARTED, "/t00001", new Payloads.TaskStarted(
            BACKUP + "/t00001", "table-data", TABLE, 1, "w1", 3))),
        named("task.started schema", task(EventTypes.TASK_STARTED, "/schema", new Payloads.TaskStarted(
            BACKUP + "/schema", "schema", null, 2, "w1", 0))),
        named("task.started archive", task(EventTypes.TASK_STARTED, "/archive", new Payloads.TaskStarted(
            BACKUP + "/archive", "pg-dump-archive", null, 1, "w1", 15))),
        named("task.progress", task(EventTypes.TASK_PROGRESS, "/t00001-0002", new Payloads.TaskProgress(
            BACKUP + "/t00001-0002", 2396829, 97158885, 49840725))),
        named("task.progress schema", task(EventTypes.TASK_PROGRESS, "/schema", new Payloads.TaskProgress(
            BACKUP + "/schema", 0, 0, 0))),
        named("task.completed table", task(EventTypes.TASK_COMPLETED, "/t00001", new Payloads.TaskCompleted(
            BACKUP + "/t00001", "table-data", 1, "w1", table, null))),
        named("task.completed ctid chunk", task(EventTypes.TASK_COMPLETED, "/t00001-0007", new Payloads.TaskCompleted(
            BACKUP + "/t00001-0007", "table-data", 3, "w2", ctidChunk, null))),
        named("task.completed key chunk", task(EventTypes.TASK_COMPLETED, "/t00002-0001", new Payloads.TaskCompleted(
            BACKUP + "/t00002-0001", "table-data", 1, "w2", keyChunk, null))),
        named("task.completed schema", task(EventTypes.TASK_COMPLETED, "/schema", new Payloads.TaskCompleted(
            BACKUP + "/schema", "schema", 1, "w1", schema, null))),
        named("task.completed globals", task(EventTypes.TASK_COMPLETED, "/globals", new Payloads.TaskCompleted(
            BACKUP + "/globals", "globals", 1, "w1", globals, null))),
        named("task.completed custom archive", task(EventTypes.TASK_COMPLETED, "/archive", new Payloads.TaskCompleted(
            BACKUP + "/archive", "pg-dump-archive", 1, "w1", custom, List.of(custom)))),
        named("task.completed directory archive", task(EventTypes.TASK_COMPLETED, "/archive",
            new Payloads.TaskCompleted(BACKUP + "/archive", "pg-dump-archive", 1, "w1", dir, List.of(dirFile)))),
        named("task.failed table", task(EventTypes.TASK_FAILED, "/t00001", new Payloads.TaskFailed(
            BACKUP + "/t00001", "table-data", TABLE, 3, "w2", "copying \"public\".\"t\": cannot connect", true,
            Payloads.BackupFailed.DATABASE))),
        named("retention.deleted", CloudEvent.of(COORDINATOR, EventTypes.RETENTION_DELETED, "prod", "sales", null,
            BACKUP, null, new Payloads.RetentionDeleted(BACKUP, java.time.Instant.parse("2026-11-20T02:00:05Z"),
                "kept by no rule of the policy", "keep-daily 7, keep-weekly 4"))),
        named("restore_test.passed", CloudEvent.of(COORDINATOR, EventTypes.RESTORE_TEST_PASSED, "prod", "sales", null,
            BACKUP, null, new Payloads.RestoreTestPassed(BACKUP, 12, 40_000, 5400,
                "prod/sales/" + BACKUP + "/verify/20261126T031500123Z.json"))),
        named("restore_test.failed", CloudEvent.of(COORDINATOR, EventTypes.RESTORE_TEST_FAILED, "prod", "sales", null,
            BACKUP, null, new Payloads.RestoreTestFailed(BACKUP, List.of("table \"public\".\"small\": content digest"
                + " differs from the manifest"), "prod/sales/" + BACKUP + "/verify/20261126T031500123Z.json"))),
        named("alert firing", CloudEvent.of(COORDINATOR, EventTypes.ALERT, "prod", "sales", null, null, null,
            new Payloads.Alert("backup_failed", "firing", "backup of prod/sales failed: disk full", "a1b2c3"))),
        named("task.failed globals", task(EventTypes.TASK_FAILED, "/globals", new Payloads.TaskFailed(
            BACKUP + "/globals", "globals", null, 1, "w2", "unexpected error: java.lang.IllegalStateException: x",
            false, null))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("emitted")
  void anEventAsPublishedConformsToTheSchemaOfItsType(CloudEvent event) {
    JsonNode wire = wire(event);
    assertThat(EventSchemas.violations(wire)).as(wire.toString()).isEmpty();
  }

  @Test
  void aMissingRequiredAttributeFails() {
    ObjectNode e = completed();
    e.remove("time");
    assertThat(EventSchemas.violations(e)).anyMatch(v -> v.contains("time"));
    ObjectNode noBackupId = completed();
    noBackupId.remove("backupid");
    assertThat(EventSchemas.violations(noBackupId)).anyMatch(v -> v.contains("backupid"));
  }

  @Test
  void aTypeOtherThanTheSchemasFails() {
    ObjectNode e = completed();
    e.put("type", EventTypes.BACKUP_FAILED);
    assertThat(EventSchemas.violations(EventTypes.BACKUP_COMPLETED, e)).isNotEmpty();
    assertThat(EventSchemas.violations(e)).as("backup.completed's data is not backup.failed's").isNotEmpty();
  }

  @Test
  void anExtraDataFieldFails() {
    ObjectNode e = completed();
    ((ObjectNode) e.get("data")).put("finishedAt", "2026-11-25T23:07:19Z");
    assertThat(EventSchemas.violations(e)).anyMatch(v -> v.contains("finishedAt"));
  }

  @Test
  void anUnknownAttributeOrAnExtensionOfAnotherVariantFails() {
    ObjectNode extra = completed();
    extra.put("traceparent", "00-abc");
    assertThat(EventSchemas.violations(extra)).isNotEmpty();
    ObjectNode taskid = completed();
    taskid.put("taskid", BACKUP + "/schema");
    assertThat(EventSchemas.violations(taskid)).as("backup.* events carry no taskid").isNotEmpty();
  }

  @Test
  void wrongTypesFormatsAndNullsFail() {
    ObjectNode time = completed();
    time.put("time", "yesterday");
    assertThat(EventSchemas.violations(time)).as("time is a date-time").isNotEmpty();
    ObjectNode rows = completed();
    ((ObjectNode) rows.get("data")).put("rows", "3");
    assertThat(EventSchemas.violations(rows)).isNotEmpty();
    ObjectNode nul = completed();
    ((ObjectNode) nul.get("data")).putNull("manifestKey");
    assertThat(EventSchemas.violations(nul)).as("pgfleet leaves nulls out").isNotEmpty();
    ObjectNode subject = completed();
    subject.put("subject", "sales");
    assertThat(EventSchemas.violations(subject)).as("subject is cluster/database").isNotEmpty();
  }

  @Test
  void aTableTaskWithoutItsTableFails() {
    JsonNode e = wire(task(EventTypes.TASK_STARTED, "/t00001", new Payloads.TaskStarted(BACKUP + "/t00001",
        "table-data", null, 1, "w1", 3)));
    assertThat(EventSchemas.violations(e)).isNotEmpty();
  }

  private static ObjectNode completed() {
    return (ObjectNode) wire(backup(EventTypes.BACKUP_COMPLETED, new Payloads.BackupCompleted(BACKUP,
        "prod/sales/" + BACKUP + "/manifest.json", 1, 3, 1405, 1164)));
  }

  private static Arguments named(String name, CloudEvent e) {
    return Arguments.of(Named.of(name, e));
  }

  private static CloudEvent backup(String type, Object data) {
    return CloudEvent.of(COORDINATOR, type, "127-0-0-1-5432", "sales", RUN, BACKUP, null, data);
  }

  private static CloudEvent task(String type, String taskSuffix, Object data) {
    return CloudEvent.of(WORKER, type, "127-0-0-1-5432", "my/odd db", RUN, BACKUP, BACKUP + taskSuffix, data);
  }

  /** The record value as {@link EventPublisher} writes it, read back as a consumer without pgfleet's classes. */
  private static JsonNode wire(CloudEvent e) {
    return EventSchemas.parse(Json.write(e));
  }
}
