package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgfleet.it.support.BackupFiles;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tables above the split threshold are dumped as ctid-range chunks by several tasks and restored whole: a plain
 * table, a TOAST-heavy one whose heap is a handful of pages, an inheritance parent whose child holds rows too, a
 * table with a generated column. A corrupt chunk leaves its table empty, never partly loaded.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChunkedTablesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final String PLAIN = "\"public\".\"plain_rows\"";
  private static final String TOASTY = "\"public\".\"toasty\"";
  private static final String PARENT = "\"public\".\"events_parent\"";
  private static final Pattern SPLIT_NOTE = Pattern.compile(
      "pgfleet: plan: table (\\S+) \\(~\\d+ (?:kB|MB) of COPY text\\) split into (\\d+) chunks by ctid range");
  private static final List<String> DATABASES = new ArrayList<>();
  private static String source;
  private static String backupId;
  private static String backupErr;
  private static Map<String, Long> sourceRows;
  @TempDir
  static Path repo;
  @TempDir
  static Path scratch;

  @BeforeAll
  static void load() throws Exception {
    source = newDatabaseName("chunked_src");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/chunked.sql");
    sourceRows = rowCounts(source);
    assertThat(sourceRows).containsKeys(PLAIN, TOASTY, PARENT, "\"public\".\"events_child\"",
        "\"public\".\"priced\"");
    // The TOAST-heavy table's rows are few and its heap small: the split must come from the TOAST bytes.
    try (Connection c = PG.connect(source); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT pg_relation_size('toasty') / 8192,"
             + " pg_total_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'toasty'::regclass")) {
      rs.next();
      assertThat(rs.getLong(1)).as("heap pages of toasty").isBetween(15L, 40L);
      assertThat(rs.getLong(2)).as("TOAST bytes of toasty").isGreaterThan(8L << 20);
    }
  }

  @AfterAll
  static void drop() throws Exception {
    for (String db : DATABASES) {
      PG.dropDatabase(db);
    }
  }

  @Test
  @Order(1)
  void largeTablesAreSplitIntoChunksAndRestoreToAnIdenticalDatabase() throws Exception {
    Path stats = scratch.resolve("stats.json");
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers(), "--split-threshold", "256kB", "--chunk-size", "128kB",
        "--stats-json", stats.toString());
    assertThat(b.exitCode()).as(b.err()).isZero();
    backupId = b.out().trim();
    backupErr = b.err();
    assertThat(backupId).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
    assertThat(b.err()).contains("backup " + backupId + " complete");

    String restored = newDatabaseName("chunked_dst");
    Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target", PG.url(restored),
        "--jobs", "3");
    assertThat(r.exitCode()).as(r.err()).isZero();
    DatabaseComparison.compare(PG, source, restored).assertEqual();
  }

  @Test
  @Order(2)
  void thePlanNotesAndTheManifestDescribeEveryChunk() throws Exception {
    Map<String, Integer> noted = new LinkedHashMap<>();
    Matcher m = SPLIT_NOTE.matcher(backupErr);
    while (m.find()) {
      noted.put(m.group(1), Integer.parseInt(m.group(2)));
    }
    assertThat(noted).containsKeys(PLAIN, TOASTY, PARENT);

    Map<String, List<JsonNode>> byTable = artifactsByTable();
    assertThat(byTable.keySet()).containsExactlyInAnyOrderElementsOf(sourceRows.keySet());
    for (String table : List.of(PLAIN, TOASTY, PARENT)) {
      List<JsonNode> parts = byTable.get(table);
      assertThat(parts).as("artifacts of %s", table).hasSizeGreaterThanOrEqualTo(4);
      assertThat(parts).as("artifacts of %s", table).allSatisfy(a -> assertThat(a.hasNonNull("chunk")).isTrue());
    }
    for (Map.Entry<String, List<JsonNode>> e : byTable.entrySet()) {
      String table = e.getKey();
      List<JsonNode> parts = new ArrayList<>(e.getValue());
      long rows = parts.stream().mapToLong(a -> a.get("rows").asLong()).sum();
      // The parent's chunks read FROM ONLY the parent: the child's rows are counted (and dumped) once, in the child.
      assertThat(rows).as("rows in the artifacts of %s", table).isEqualTo(sourceRows.get(table));
      assertThat(parts).as("artifacts of %s", table)
          // Recorded for every artifact; a table of three rows can take less than a millisecond.
          .allSatisfy(a -> assertThat(a.get("elapsedMillis").isIntegralNumber()).as(a.get("key").asText()).isTrue())
          .allSatisfy(a -> assertThat(a.get("elapsedMillis").asLong()).as(a.get("key").asText()).isNotNegative());
      if (parts.size() == 1 && !parts.get(0).hasNonNull("chunk")) {
        assertThat(noted).as("plan notes").doesNotContainKey(table);
        continue;
      }
      int count = parts.size();
      assertThat(noted).as("plan notes").containsEntry(table, count);
      parts.sort(Comparator.comparingInt(a -> a.get("chunk").get("index").asInt()));
      String previousTo = null;
      for (int i = 0; i < count; i++) {
        JsonNode c = parts.get(i).get("chunk");
        assertThat(c.get("index").asInt()).isEqualTo(i + 1);
        assertThat(c.get("count").asInt()).isEqualTo(count);
        assertThat(c.get("method").asText()).isEqualTo("ctid");
        String from = text(c, "from");
        String to = text(c, "to");
        if (i == 0) {
          assertThat(from).as("lower bound of the first chunk of %s", table).isNull();
        } else {
          assertThat(from).as("lower bound of chunk %d of %s", i + 1, table).isNotNull().isEqualTo(previousTo);
        }
        if (i == count - 1) {
          assertThat(to).as("upper bound of the last chunk of %s", table).isNull();
        } else {
          assertThat(to).as("upper bound of chunk %d of %s", i + 1, table).matches("\\(\\d+,0\\)");
        }
        previousTo = to;
        assertThat(parts.get(i).get("key").asText()).matches("data/\\d{5}-" + String.format("%04d", i + 1)
            + "\\.[0-9a-f]{8}\\.copy\\.zst");
      }
    }
  }

  @Test
  @Order(3)
  void statsJsonHoldsTheRunsTimings() throws Exception {
    JsonNode s = JSON.readTree(scratch.resolve("stats.json").toFile());
    assertThat(s.get("backupId").asText()).isEqualTo(backupId);
    assertThat(s.get("wallSeconds").asDouble()).isPositive();
    assertThat(s.get("runSeconds").asDouble()).isPositive();
    assertThat(s.get("peakHeapBytes").asLong()).isPositive();
    assertThat(s.get("tasks").asInt()).isEqualTo(manifest().get("data").size() + 2);
    long longest = manifest().get("data").findValues("elapsedMillis").stream().mapToLong(JsonNode::asLong).max()
        .orElseThrow();
    longest = Math.max(longest, manifest().get("schema").get("elapsedMillis").asLong());
    longest = Math.max(longest, manifest().get("globals").get("elapsedMillis").asLong());
    assertThat(s.get("largestTaskSeconds").isNumber()).isTrue();
    assertThat(s.get("largestTaskSeconds").asDouble()).isEqualTo(longest / 1000.0);
    assertThat(s.get("largestTask").asText()).matches("schema|globals|\"[^\"]+\"\\.\"[^\"]+\"( chunk \\d+/\\d+ \\(.*\\))?");
  }

  @Test
  @Order(4)
  void verifyPassesAndTheRestoreGuideLoadsTheChunks() throws Exception {
    Cli.Result ok = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId);
    assertThat(ok.exitCode()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("OK");

    // RESTORE.md names one COPY per chunk; run as written, it rebuilds the same database.
    String guided = newDatabaseName("chunked_guide");
    BackupFiles.runRestoreGuide(manifestPath().getParent(), guided, PG);
    DatabaseComparison.compare(PG, source, guided).assertEqual();
  }

  @Test
  @Order(5)
  void aCorruptChunkLeavesItsTableEmptyAndTheOthersWhole() throws Exception {
    // The smallest chunk of the plain table loads last of its chunks (loads go largest first), so the others
    // have been committed when it fails and must be truncated again.
    JsonNode victim = artifactsByTable().get(PLAIN).stream()
        .min(Comparator.comparingLong((JsonNode a) -> a.get("rawBytes").asLong())).orElseThrow();
    String key = victim.get("key").asText();
    Path file = manifestPath().resolveSibling(key);
    BackupFiles.flipMiddleByte(file);

    String target = newDatabaseName("chunked_bad");
    Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target", PG.url(target));
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    String error = r.errorLines().get(0);
    assertThat(error).contains(key).contains("corrupt").contains("not restored, left empty: ");
    Matcher m = Pattern.compile("Restored (\\d+) of (\\d+) tables \\(([0-9,]+) rows\\);"
        + " not restored, left empty: (.*?)(?: \\(loaded chunks of (.*) were truncated again\\))?\\. Indexes")
        .matcher(error);
    assertThat(m.find()).as(error).isTrue();
    List<String> notRestored = List.of(m.group(4).split(", "));
    assertThat(notRestored).contains(PLAIN);
    assertThat(m.group(5)).as("tables emptied again").isNotNull();
    assertThat(List.of(m.group(5).split(", "))).contains(PLAIN);
    assertThat(notRestored).containsAll(List.of(m.group(5).split(", ")));
    assertThat(Integer.parseInt(m.group(2))).isEqualTo(sourceRows.size());
    assertThat(Integer.parseInt(m.group(1))).isEqualTo(sourceRows.size() - notRestored.size());

    Map<String, Long> loaded = rowCounts(target);
    assertThat(loaded.keySet()).containsExactlyInAnyOrderElementsOf(sourceRows.keySet());
    assertThat(loaded.get(PLAIN)).as("rows left in %s", PLAIN).isZero();
    // Loads go largest first: the TOAST-heavy table's chunks had all started before the failure.
    assertThat(notRestored).doesNotContain(TOASTY);
    assertThat(loaded.get(TOASTY)).isEqualTo(sourceRows.get(TOASTY));
    long restoredRows = 0;
    for (Map.Entry<String, Long> e : loaded.entrySet()) {
      if (notRestored.contains(e.getKey())) {
        assertThat(e.getValue()).as("rows in %s, not restored", e.getKey()).isZero();
      } else {
        assertThat(e.getValue()).as("rows in %s, restored", e.getKey()).isEqualTo(sourceRows.get(e.getKey()));
        restoredRows += e.getValue();
      }
    }
    // The error says what the database now holds: rows of chunks truncated again are not restored rows.
    assertThat(Long.parseLong(m.group(3).replace(",", ""))).as("restored rows in: %s", error).isEqualTo(restoredRows);
  }

  private static String newDatabaseName(String prefix) {
    String db = PG.uniqueDbName(prefix);
    DATABASES.add(db);
    return db;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  /** Row counts of every ordinary table, each its own rows only (FROM ONLY), by quoted qualified name. */
  private static Map<String, Long> rowCounts(String db) throws Exception {
    List<String> tables = new ArrayList<>();
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname FROM pg_class c"
          + " JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
          + " AND n.nspname !~ '^pg_'")) {
        while (rs.next()) {
          tables.add(qualified(rs.getString(1), rs.getString(2)));
        }
      }
      Map<String, Long> counts = new LinkedHashMap<>();
      for (String t : tables) {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ONLY " + t)) {
          rs.next();
          counts.put(t, rs.getLong(1));
        }
      }
      return counts;
    }
  }

  /** A table name as the manifest's artifacts and pgfleet's messages write it: both parts double-quoted. */
  private static String qualified(String schema, String name) {
    return '"' + schema.replace("\"", "\"\"") + "\".\"" + name.replace("\"", "\"\"") + '"';
  }

  private static Map<String, List<JsonNode>> artifactsByTable() throws Exception {
    Map<String, List<JsonNode>> byTable = new LinkedHashMap<>();
    for (JsonNode a : manifest().get("data")) {
      String table = qualified(a.get("table").get("schema").asText(), a.get("table").get("name").asText());
      byTable.computeIfAbsent(table, t -> new ArrayList<>()).add(a);
    }
    return byTable;
  }

  private static JsonNode manifest() throws Exception {
    return JSON.readTree(manifestPath().toFile());
  }

  private static Path manifestPath() throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> p.getParent().getFileName().toString().equals(backupId)).findFirst().orElseThrow();
    }
  }
}
