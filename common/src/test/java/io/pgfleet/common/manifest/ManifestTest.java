package io.pgfleet.common.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.repository.RepositoryLayout;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestTest {
  private static final String ID = "20240102T030405Z-abcdef";

  private static ArtifactEntry table(int n, TableRef t, long rows, long bytes) {
    return new ArtifactEntry(String.format("data/%05d.copy.zst", n), "table-data", t, List.of("id", "Name \"x\""),
        rows, rows * 10, bytes, "a".repeat(64), "0123456789abcdef0123456789abcdef", "rowsum128-sha256", "zstd",
        "none", "task-" + n, null, 1500L);
  }

  private static Manifest manifest(ArtifactEntry schema, List<ArtifactEntry> data) {
    return manifest(schema, null, data);
  }

  private static Manifest manifest(ArtifactEntry schema, ArtifactEntry globals, List<ArtifactEntry> data) {
    return new Manifest(Manifest.FORMAT_VERSION, ID, "run-1", "prod eu", "../sales",
        new Manifest.SourceInfo("PostgreSQL 16.2", 160002, "00000003-0000001B-1", "0/16B3748", "UTF8",
            "en_US.UTF-8", "en_US.UTF-8", "backup", "7312345678901234567"),
        Instant.parse("2024-01-02T03:04:05.123456Z"), Instant.parse("2024-01-02T03:09:00Z"), "0.1.0-SNAPSHOT",
        List.of("COPY ... TO STDOUT", "zstd level 3"), schema, globals, data, "RESTORE.md", "b".repeat(64), null, null, null, null);
  }

  private static Manifest sample() {
    ArtifactEntry schema = new ArtifactEntry("schema.dump", "schema", null, null, 0, 0, 4096, "c".repeat(64), null,
        null, "none", "none", "task-0", null, 250L);
    ArtifactEntry globals = new ArtifactEntry("globals.sql", "globals", null, null, 0, 900, 900, "d".repeat(64), null,
        null, "none", "none", "task-g", null, 80L);
    return manifest(schema, globals, List.of(
        table(1, new TableRef("public", "users"), 1000, 20_000),
        table(2, new TableRef("Ünï Schema", "we\"ird"), 5_000_000_000L, 3_000_000_000L),
        table(3, new TableRef("public", "empty"), 0, 13)));
  }

  @Test
  void prettyJsonRoundTripEqualsTheOriginal() throws Exception {
    Manifest m = sample();
    byte[] json = Json.writePretty(m);
    assertThat(new String(json, StandardCharsets.UTF_8)).contains("\n").contains("\"formatVersion\" : 1");
    Manifest back = Json.read(json, Manifest.class);
    assertThat(back).isEqualTo(m);
    assertThat(Json.read(new String(json, StandardCharsets.UTF_8), Manifest.class)).isEqualTo(m);
    assertThat(Json.writePretty(back)).isEqualTo(json);
  }

  @Test
  void roundTripWithoutSchemaAndWithoutData() throws Exception {
    Manifest m = manifest(null, List.of());
    assertThat(Json.read(Json.writePretty(m), Manifest.class)).isEqualTo(m);
    assertThat(m.totalBytes()).isZero();
    assertThat(m.totalRows()).isZero();
    assertThat(m.tableCount()).isZero();
  }

  /** Manifests written before pgfleet dumped globals have no such field: they still read, with none. */
  @Test
  void aManifestWithoutGlobalsStillReads() throws Exception {
    Manifest m = sample();
    Manifest old = manifest(m.schema(), m.data());
    com.fasterxml.jackson.databind.node.ObjectNode tree = (com.fasterxml.jackson.databind.node.ObjectNode)
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(Json.writePretty(m));
    tree.remove("globals");
    Manifest back = Json.read(tree.toString(), Manifest.class);
    assertThat(back.globals()).isNull();
    assertThat(back).isEqualTo(old);
    assertThat(back.totalBytes()).isEqualTo(m.totalBytes() - 900);
  }

  /** A partial backup says so; a whole one, and manifests written before selections existed, have no field. */
  @Test
  void theSelectionIsRecordedOnlyForAPartialBackup() throws Exception {
    Manifest whole = sample();
    assertThat(new String(Json.writePretty(whole), StandardCharsets.UTF_8)).doesNotContain("selection");
    assertThat(Json.read(Json.writePretty(whole), Manifest.class).selection()).isNull();
    io.pgfleet.common.task.DumpFilter f = new io.pgfleet.common.task.DumpFilter(List.of("app"), List.of(),
        List.of("app.tmp"), List.of("audit_*"));
    Manifest partial = new Manifest(whole.formatVersion(), whole.backupId(), whole.runId(), whole.cluster(),
        whole.database(), whole.source(), whole.startedAt(), whole.finishedAt(), whole.pgfleetVersion(),
        whole.copySettings(), whole.schema(), whole.globals(), whole.data(), whole.restoreGuideKey(),
        whole.restoreGuideSha256(), whole.archive(), whole.encryption(), f, null);
    String json = new String(Json.writePretty(partial), StandardCharsets.UTF_8);
    assertThat(json).contains("\"selection\"").contains("\"excludeTableData\" : [ \"audit_*\" ]")
        .doesNotContain("\"empty\" :");
    Manifest back = Json.read(json, Manifest.class);
    assertThat(back).isEqualTo(partial);
    assertThat(back.selection()).isEqualTo(f);
    assertThat(back.withArtifacts(back.schema(), back.globals(), back.data(), null, null, null).selection())
        .isEqualTo(f);
  }

  @Test
  void objectKeyPrefixesTheBackupFolder() {
    Manifest m = sample();
    String prefix = RepositoryLayout.backupPrefix("prod eu", "../sales", ID);
    assertThat(prefix).isEqualTo("prod%20eu/%2E%2E%2Fsales/" + ID + "/");
    assertThat(m.objectKey("data/00002.copy.zst")).isEqualTo(prefix + "data/00002.copy.zst");
    assertThat(m.objectKey(m.schema().key())).isEqualTo(RepositoryLayout.schemaKey("prod eu", "../sales", ID));
    assertThat(m.objectKey(m.restoreGuideKey())).isEqualTo(RepositoryLayout.restoreGuideKey("prod eu", "../sales", ID));
    for (int n = 1; n <= 3; n++) {
      String key = RepositoryLayout.dataKey("prod eu", "../sales", ID, n);
      assertThat(m.objectKey(RepositoryLayout.relativeToBackup(key))).isEqualTo(key);
      assertThat(m.objectKey(m.data().get(n - 1).key())).isEqualTo(key);
    }
  }

  @Test
  void totals() {
    Manifest m = sample();
    assertThat(m.totalBytes()).isEqualTo(4096 + 900 + 20_000 + 3_000_000_000L + 13);
    assertThat(m.totalRows()).isEqualTo(1000 + 5_000_000_000L);
    assertThat(m.tableCount()).isEqualTo(3);
  }

  @Test
  void tableCountCountsDistinctTables() {
    TableRef users = new TableRef("public", "users");
    Manifest m = manifest(null, List.of(table(1, users, 10, 100), table(2, users, 20, 200),
        table(3, new TableRef("public", "Users"), 1, 1)));
    assertThat(m.tableCount()).isEqualTo(2);
    assertThat(m.totalRows()).isEqualTo(31);
    assertThat(m.totalBytes()).isEqualTo(301);
  }
}
