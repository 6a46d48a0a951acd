package io.pgfleet.common.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgfleet.common.json.Json;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ArchiveTaskTest {
  private static final TaskHeader HEADER = new TaskHeader("b/archive", "run-1", "20240102T030405Z-abcdef", "c1",
      "sales", "00000003-0000001B-1", "c1/sales/20240102T030405Z-abcdef/archive", 1, Instant.parse("2024-01-02T03:04:05Z"));

  private static ArchiveTask task() {
    return new ArchiveTask(HEADER, 160002, "directory", 4,
        List.of("--schema=bank", "--exclude-table-data=bank.ledger", "--table=\"Ops-Δ\".\"Mixed *\"", "--data-only"));
  }

  @Test
  void roundTripsThroughTheCodec() throws Exception {
    ArchiveTask t = task();
    String wire = TaskCodec.encode(t);
    assertThat(wire).contains("\"kind\":\"pg-dump-archive\"");
    assertThat(TaskCodec.decode(wire)).isEqualTo(t);
    assertThat(t.options().selects()).isTrue();
    assertThat(t.options().archiveName("9f2c01ab")).isEqualTo("archive.9f2c01ab/");
    assertThat(new ArchiveOptions("plain", 1, List.of()).archiveName("x")).isEqualTo("archive.x.sql");
    assertThat(new ArchiveOptions("custom", 1, List.of()).archiveName("x")).isEqualTo("archive.x.dump");
  }

  @ParameterizedTest
  @ValueSource(strings = {"--file=/etc/passwd", "-f", "--table", "--table=", "--table=-x", "--schema=--help",
      "--exclude-table=a\nb", "--snapshot=1", "--dbname=postgresql://evil", "-tbank", "--compress=9", "", " --data-only"})
  void aSmuggledFlagOnTheWireIsAnInvalidTask(String bad) throws Exception {
    ObjectNode n = (ObjectNode) Json.tree(task());
    n.put("kind", ArchiveTask.KIND);
    ((ArrayNode) n.get("args")).add(bad);
    assertInvalid(n.toString());
  }

  @Test
  void jobsOnlyWithDirectoryAndWithinRange() {
    assertThatThrownBy(() -> new ArchiveOptions("custom", 2, List.of())).hasMessageContaining("directory");
    assertThatThrownBy(() -> new ArchiveOptions("directory", 0, List.of())).hasMessageContaining("1 to 64");
    assertThatThrownBy(() -> new ArchiveOptions("directory", 65, List.of())).hasMessageContaining("1 to 64");
    assertThatThrownBy(() -> new ArchiveOptions("tar", 1, List.of())).hasMessageContaining("not one of");
    assertThatThrownBy(() -> new ArchiveOptions("plain", 1, List.of("--data-only", "--schema-only")))
        .hasMessageContaining("exclude each other");
    ObjectNode n = (ObjectNode) Json.tree(task());
    n.put("kind", ArchiveTask.KIND);
    n.put("format", "custom");
    assertInvalid(n.toString());
  }

  private static void assertInvalid(String json) {
    Throwable t = catchThrowable(() -> TaskCodec.decode(json));
    assertThat(t).as("decode(%s)", json).isExactlyInstanceOf(TaskCodec.InvalidTaskException.class);
  }
}
