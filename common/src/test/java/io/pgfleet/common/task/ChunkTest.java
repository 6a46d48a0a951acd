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

/**
 * Chunk bounds arrive over Kafka and are pasted into a COPY statement: only the exact forms the planner writes may
 * pass, and the predicate must be the SQL the worker expects.
 */
class ChunkTest {
  private static final Instant ISSUED = Instant.parse("2024-05-01T12:34:56Z");

  @Test
  void ctidChunksGivePredicatesOverTupleIds() {
    assertThat(Chunk.ctid(1, 3, null, 10L).predicate()).isEqualTo("ctid < '(10,0)'::tid");
    assertThat(Chunk.ctid(2, 3, 10L, 20L).predicate())
        .isEqualTo("ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid");
    assertThat(Chunk.ctid(3, 3, 20L, null).predicate()).isEqualTo("ctid >= '(20,0)'::tid");
    Chunk c = Chunk.ctid(2, 3, 10L, 20L);
    assertThat(c.method()).isEqualTo(Chunk.CTID);
    assertThat(c.column()).isNull();
    assertThat(c.from()).isEqualTo("(10,0)");
    assertThat(c.to()).isEqualTo("(20,0)");
  }

  @Test
  void ctidChunksDescribeTheirRange() {
    assertThat(Chunk.ctid(1, 3, null, 10L).describe()).isEqualTo("chunk 1/3 (ctid < (10,0))");
    assertThat(Chunk.ctid(2, 3, 10L, 20L).describe()).isEqualTo("chunk 2/3 ((10,0) <= ctid < (20,0))");
    assertThat(Chunk.ctid(3, 3, 20L, null).describe()).isEqualTo("chunk 3/3 (ctid >= (20,0))");
  }

  @Test
  void keyChunksQuoteTheirColumnAndQuoteTheirBounds() {
    assertThat(Chunk.key(1, 3, "id", null, -5L).predicate()).isEqualTo("\"id\" < '-5'");
    assertThat(Chunk.key(2, 3, "Order \"Id\"", -5L, 1000L).predicate())
        .isEqualTo("\"Order \"\"Id\"\"\" >= '-5' AND \"Order \"\"Id\"\"\" < '1000'");
    assertThat(Chunk.key(3, 3, "id", Long.MAX_VALUE, null).predicate())
        .isEqualTo("\"id\" >= '9223372036854775807'");
    assertThat(Chunk.key(1, 2, "id", null, Long.MIN_VALUE).predicate())
        .isEqualTo("\"id\" < '-9223372036854775808'");
    assertThat(Chunk.key(2, 3, "id", 10L, 20L).describe()).isEqualTo("chunk 2/3 (10 <= id < 20)");
    assertThat(Chunk.key(1, 3, "id", null, 10L).describe()).isEqualTo("chunk 1/3 (id < 10)");
    assertThat(Chunk.key(3, 3, "id", 20L, null).describe()).isEqualTo("chunk 3/3 (id >= 20)");
  }

  @Test
  void indexesOutOfRangeAreRejected() {
    assertRejected(() -> Chunk.ctid(0, 3, null, 10L));
    assertRejected(() -> Chunk.ctid(4, 3, 20L, null));
    assertRejected(() -> Chunk.ctid(-1, 3, null, 10L));
    // A "split" into one chunk is not a split: the planner makes a whole-table task instead.
    assertRejected(() -> new Chunk(1, 1, Chunk.CTID, null, null, null));
    assertRejected(() -> new Chunk(1, 0, Chunk.CTID, null, null, "(1,0)"));
  }

  @Test
  void onlyTheEndsAreOpen() {
    assertRejected(() -> Chunk.ctid(1, 3, 0L, 10L));
    assertRejected(() -> Chunk.ctid(3, 3, 20L, 30L));
    assertRejected(() -> Chunk.ctid(2, 3, null, 20L));
    assertRejected(() -> Chunk.ctid(2, 3, 10L, null));
    assertRejected(() -> Chunk.key(1, 2, "id", 0L, 10L));
    assertRejected(() -> Chunk.key(2, 2, "id", 10L, 20L));
  }

  @ParameterizedTest
  @ValueSource(strings = {"(1,0); DROP TABLE x", "(1,5)", "1e9", "(1,0)'", "(01,0)", "(-1,0)", "( 1,0)",
      "(1,0) ", "(12345678901,0)", "(1, 0)", "", "(1,0)::tid", "'(1,0)'", "(1,0)\n"})
  void malformedCtidBoundsAreRejected(String bound) {
    assertRejected(() -> new Chunk(2, 3, Chunk.CTID, null, bound, "(9,0)"));
    assertRejected(() -> new Chunk(2, 3, Chunk.CTID, null, "(1,0)", bound));
  }

  @ParameterizedTest
  @ValueSource(strings = {"1e9", "1.5", "01", "+1", "1 ", "1; DROP TABLE x", "0x10", "", "--1", "(1,0)",
      "99999999999999999999", "9223372036854775808"})
  void malformedKeyBoundsAreRejected(String bound) {
    assertRejected(() -> new Chunk(2, 3, Chunk.KEY, "id", bound, "100"));
    assertRejected(() -> new Chunk(2, 3, Chunk.KEY, "id", "-100", bound));
  }

  @Test
  void aKeyChunkNamesItsColumnAndACtidChunkNone() {
    assertThatThrownBy(() -> new Chunk(1, 2, Chunk.KEY, null, null, "10")).isInstanceOf(NullPointerException.class);
    assertRejected(() -> new Chunk(1, 2, Chunk.CTID, "id", null, "(10,0)"));
  }

  @Test
  void unknownMethodsAreRejected() {
    assertRejected(() -> new Chunk(1, 2, "hash", null, null, "(10,0)"));
    assertRejected(() -> new Chunk(1, 2, "CTID", null, null, "(10,0)"));
    assertThatThrownBy(() -> new Chunk(1, 2, null, null, null, "(10,0)")).isInstanceOf(NullPointerException.class);
  }

  @Test
  void aChunkTaskRoundTripsThroughTheCodec() throws Exception {
    for (Chunk chunk : List.of(Chunk.ctid(2, 5, 40L, 80L), Chunk.ctid(1, 5, null, 40L), Chunk.ctid(5, 5, 160L, null),
        Chunk.key(3, 4, "Order Id", -7L, 1_000_000_000_000L))) {
      TableDataTask task = chunkTask(chunk);
      String wire = TaskCodec.encode(task);
      TableDataTask decoded = (TableDataTask) TaskCodec.decode(wire);
      assertThat(decoded).isEqualTo(task);
      assertThat(decoded.chunk()).isEqualTo(chunk);
      assertThat(decoded.chunk().predicate()).isEqualTo(chunk.predicate());
      assertThat(decoded.describe()).isEqualTo("table \"app\".\"big\" " + chunk.describe());
    }
  }

  @Test
  void aWholeTableTaskHasNoChunkOnTheWire() throws Exception {
    TableDataTask task = new TableDataTask(header(), new TableRef("app", "big"), List.of("id"), 10, null);
    assertThat(Json.MAPPER.readTree(TaskCodec.encode(task)).has("chunk")).isFalse();
    assertThat(((TableDataTask) TaskCodec.decode(TaskCodec.encode(task))).chunk()).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"(40,0); DROP TABLE app.big; --", "(40,1)", "40", "(40,0)' OR '1'='1"})
  void aTamperedBoundOnTheWireIsAnInvalidTask(String bound) throws Exception {
    ObjectNode n = (ObjectNode) Json.MAPPER.readTree(TaskCodec.encode(chunkTask(Chunk.ctid(2, 5, 40L, 80L))));
    ((ObjectNode) n.get("chunk")).put("from", bound);
    assertInvalid(n.toString());
  }

  @Test
  void otherTamperedChunksOnTheWireAreInvalidTasks() throws Exception {
    String wire = TaskCodec.encode(chunkTask(Chunk.ctid(2, 5, 40L, 80L)));
    ObjectNode noLower = (ObjectNode) Json.MAPPER.readTree(wire);
    ((ObjectNode) noLower.get("chunk")).remove("from");
    assertInvalid(noLower.toString());
    ObjectNode column = (ObjectNode) Json.MAPPER.readTree(wire);
    ((ObjectNode) column.get("chunk")).put("column", "id");
    assertInvalid(column.toString());
    ObjectNode method = (ObjectNode) Json.MAPPER.readTree(wire);
    ((ObjectNode) method.get("chunk")).put("method", "sql");
    assertInvalid(method.toString());
    ObjectNode index = (ObjectNode) Json.MAPPER.readTree(wire);
    ((ObjectNode) index.get("chunk")).put("index", 6);
    assertInvalid(index.toString());
    ObjectNode keyBound = (ObjectNode) Json.MAPPER.readTree(TaskCodec.encode(chunkTask(Chunk.key(2, 3, "id", 1L, 9L))));
    ((ObjectNode) keyBound.get("chunk")).put("to", "9 OR true");
    assertInvalid(keyBound.toString());
  }

  private static TableDataTask chunkTask(Chunk chunk) {
    return new TableDataTask(header(), new TableRef("app", "big"), List.of("id", "Order Id", "note"), 1 << 20, chunk);
  }

  private static TaskHeader header() {
    return new TaskHeader("b/t00001-0002", "run-1", "20240501T123456Z-abcdef", "prod", "sales",
        "00000003-0000001B-1", "prod/sales/20240501T123456Z-abcdef/data/00001-0002.copy.zst", 1, ISSUED);
  }

  private static void assertRejected(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class);
  }

  private static void assertInvalid(String json) {
    Throwable t = catchThrowable(() -> TaskCodec.decode(json));
    assertThat(t).as("decode(%s)", json).isExactlyInstanceOf(TaskCodec.InvalidTaskException.class);
  }
}
