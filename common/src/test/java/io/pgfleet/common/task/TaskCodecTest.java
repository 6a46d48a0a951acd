package io.pgfleet.common.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.pg.TableRef;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TaskCodecTest {
  private static final Instant ISSUED = Instant.parse("2024-05-01T12:34:56.123456789Z");

  private static TaskHeader header() {
    return new TaskHeader("task-1", "run-1", "20240501T123456Z-abcdef", "prod eu", "sales",
        "00000003-0000001B-1", "prod%20eu/sales/20240501T123456Z-abcdef/data/00001.copy.zst", 1, ISSUED);
  }

  private static TableDataTask tableTask() {
    return new TableDataTask(header(), new TableRef("My Schema", "we\"ird Ünïcode"),
        List.of("id", "Full Name", "x\"y"), 123_456_789_012L, null);
  }

  /** The wire form of a valid task as a mutable tree; checked to decode as is, so each test breaks one thing. */
  private static ObjectNode tree(Task t) {
    ObjectNode n;
    try {
      n = (ObjectNode) Json.MAPPER.readTree(TaskCodec.encode(t));
      assertThat(n.get("kind").asText()).isEqualTo(t.kind());
      assertThat(TaskCodec.decode(n.toString())).isEqualTo(t);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    return n;
  }

  private static void assertInvalid(String json) {
    Throwable t = catchThrowable(() -> TaskCodec.decode(json));
    assertThat(t).as("decode(%s)", json).isExactlyInstanceOf(TaskCodec.InvalidTaskException.class);
    assertThat(t.getMessage()).isNotBlank();
  }

  @Test
  void schemaTaskRoundTrips() throws Exception {
    SchemaTask task = new SchemaTask(header(), 160_002);
    String wire = TaskCodec.encode(task);
    assertThat(wire).contains("\"kind\":\"schema\"");
    Task decoded = TaskCodec.decode(wire);
    assertThat(decoded).isInstanceOf(SchemaTask.class).isEqualTo(task);
    assertThat(decoded.header().issuedAt()).isEqualTo(ISSUED);
    assertThat(decoded.kind()).isEqualTo(SchemaTask.KIND);
  }

  @Test
  void schemaTaskWithASelectionRoundTrips() throws Exception {
    DumpFilter f = new DumpFilter(List.of("app", "\"Sales\""), List.of("tmp*"), List.of("app.big", "log_?"),
        List.of("audit"));
    SchemaTask task = new SchemaTask(header(), 160_002, f);
    Task decoded = TaskCodec.decode(TaskCodec.encode(task));
    assertThat(decoded).isEqualTo(task);
    assertThat(((SchemaTask) decoded).selection()).isEqualTo(f);
    assertThat(decoded.withAttempt(2)).isInstanceOfSatisfying(SchemaTask.class,
        t -> assertThat(t.filter()).isEqualTo(f));
    assertThat(((SchemaTask) decoded).selection().pgDumpArgs()).containsExactly("--schema=app",
        "--schema=\"Sales\"", "--exclude-schema=tmp*", "--exclude-table=app.big", "--exclude-table=log_?",
        "--exclude-table-data=audit");
  }

  /** Tasks from versions before pgfleet-mode selection have no filter field: they dump the whole database. */
  @Test
  void aSchemaTaskWithoutFilterIsTheWholeDatabase() throws Exception {
    SchemaTask whole = new SchemaTask(header(), 160_002, DumpFilter.NONE);
    assertThat(TaskCodec.encode(whole)).doesNotContain("filter");
    ObjectNode n = tree(new SchemaTask(header(), 160_002));
    assertThat(n.has("filter")).isFalse();
    SchemaTask decoded = (SchemaTask) TaskCodec.decode(n.toString());
    assertThat(decoded.filter()).isNull();
    assertThat(decoded.selection()).isEqualTo(DumpFilter.NONE);
    // a filter written with only some of its lists
    n.putObject("filter").putArray("schemas").add("app");
    SchemaTask partial = (SchemaTask) TaskCodec.decode(n.toString());
    assertThat(partial.selection()).isEqualTo(new DumpFilter(List.of("app"), List.of(), List.of(), List.of()));
  }

  @Test
  void globalsTaskRoundTrips() throws Exception {
    GlobalsTask task = new GlobalsTask(header(), 150_020);
    String wire = TaskCodec.encode(task);
    assertThat(wire).contains("\"kind\":\"globals\"");
    Task decoded = TaskCodec.decode(wire);
    assertThat(decoded).isInstanceOf(GlobalsTask.class).isEqualTo(task);
    assertThat(decoded.kind()).isEqualTo(GlobalsTask.KIND);
    assertThat(decoded.withAttempt(2).header().attempt()).isEqualTo(2);
  }

  @Test
  void tableDataTaskRoundTrips() throws Exception {
    TableDataTask task = tableTask();
    String wire = TaskCodec.encode(task);
    assertThat(wire).contains("\"kind\":\"table-data\"");
    Task decoded = TaskCodec.decode(wire);
    assertThat(decoded).isInstanceOf(TableDataTask.class).isEqualTo(task);
    TableDataTask d = (TableDataTask) decoded;
    assertThat(d.table()).isEqualTo(new TableRef("My Schema", "we\"ird Ünïcode"));
    assertThat(d.columns()).containsExactly("id", "Full Name", "x\"y");
    assertThat(d.estimatedBytes()).isEqualTo(123_456_789_012L);
    assertThat(d.describe()).isEqualTo("table \"My Schema\".\"we\"\"ird Ünïcode\"");
  }

  @Test
  void withAttemptSurvivesTheWire() throws Exception {
    Task next = tableTask().withAttempt(3);
    Task decoded = TaskCodec.decode(TaskCodec.encode(next));
    assertThat(decoded).isEqualTo(next);
    assertThat(decoded.header().attempt()).isEqualTo(3);
    assertThat(decoded.header().taskId()).isEqualTo("task-1");
  }

  @Test
  void unknownFieldsFromNewerVersionsAreIgnored() throws Exception {
    ObjectNode n = tree(tableTask());
    n.put("addedLater", "x");
    ((ObjectNode) n.get("header")).put("priority", 7);
    assertThat(TaskCodec.decode(n.toString())).isEqualTo(tableTask());
  }

  @ParameterizedTest
  @ValueSource(strings = {"garbage", "{", "{}", "[]", "", " ", "null", "42", "\"schema\"", "{\"kind\":1}",
      "{\"kind\":\"schema\"}", "{\"kind\":\"table-data\"}", "{\"kind\":null,\"header\":{}}",
      "{\"kind\":\"schema\",\"header\":null}", "{\"kind\":\"schema\",\"header\":\"x\"}",
      "{\"kind\":\"schema\",\"header\":[]}", "{\"kind\":\"schema\",\"header\":{}}"})
  void malformedMessagesAreInvalidTasks(String json) {
    assertInvalid(json);
  }

  @Test
  void nullMessageIsInvalid() {
    assertThatThrownBy(() -> TaskCodec.decode(null)).isExactlyInstanceOf(TaskCodec.InvalidTaskException.class);
  }

  @Test
  void deeplyNestedGarbageIsInvalid() {
    assertInvalid("[".repeat(5000) + "]".repeat(5000));
    assertInvalid("{\"kind\":\"schema\",\"header\":" + "[".repeat(5000) + "]".repeat(5000) + "}");
  }

  @Test
  void unknownKindIsInvalid() {
    ObjectNode n = tree(new SchemaTask(header(), 160_000));
    n.put("kind", "vacuum");
    assertInvalid(n.toString());
    n.remove("kind");
    assertInvalid(n.toString());
  }

  @Test
  void missingHeaderIsInvalid() {
    for (Task t : List.of(new SchemaTask(header(), 160_000), tableTask())) {
      ObjectNode n = tree(t);
      n.remove("header");
      assertInvalid(n.toString());
      n.putNull("header");
      assertInvalid(n.toString());
    }
  }

  @Test
  void missingRequiredHeaderFieldsAreInvalid() {
    for (String field : List.of("taskId", "runId", "backupId", "cluster", "database", "snapshot", "objectKey",
        "attempt")) {
      for (Task t : List.of(new SchemaTask(header(), 160_000), tableTask())) {
        ObjectNode n = tree(t);
        ((ObjectNode) n.get("header")).remove(field);
        assertInvalid(n.toString());
        ((ObjectNode) n.get("header")).putNull(field);
        assertInvalid(n.toString());
      }
    }
  }

  @Test
  void badHeaderValuesAreInvalid() {
    ObjectNode n = tree(tableTask());
    ((ObjectNode) n.get("header")).put("attempt", 0);
    assertInvalid(n.toString());
    ((ObjectNode) n.get("header")).put("attempt", "many");
    assertInvalid(n.toString());
    ObjectNode m = tree(tableTask());
    ((ObjectNode) m.get("header")).put("issuedAt", "yesterday");
    assertInvalid(m.toString());
  }

  @Test
  void incompleteTableDataTasksAreInvalid() {
    for (String field : List.of("table", "columns")) {
      ObjectNode n = tree(tableTask());
      n.remove(field);
      assertInvalid(n.toString());
    }
    ObjectNode noSchema = tree(tableTask());
    ((ObjectNode) noSchema.get("table")).remove("schema");
    assertInvalid(noSchema.toString());
    ObjectNode nullColumn = tree(tableTask());
    nullColumn.putArray("columns").addNull();
    assertInvalid(nullColumn.toString());
    ObjectNode badSize = tree(tableTask());
    badSize.putNull("estimatedBytes");
    assertInvalid(badSize.toString());
  }
}
