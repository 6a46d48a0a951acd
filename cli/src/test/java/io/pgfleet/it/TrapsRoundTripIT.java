package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgfleet.it.support.BackupFiles;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spine end to end on a database holding every logical-dump trap: backup through the in-JVM broker, restore
 * into a new database, and an independent comparison (SQL content, schema dump, sequences, large objects).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrapsRoundTripIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static String source;
  private static String restored;
  private static String guided;
  private static String backupId;
  @TempDir
  static Path repo;

  @BeforeAll
  static void load() throws Exception {
    source = PG.uniqueDbName("traps_src");
    restored = PG.uniqueDbName("traps_dst");
    guided = PG.uniqueDbName("traps_guide");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
  }

  @AfterAll
  static void drop() throws Exception {
    PG.dropDatabase(source);
    PG.dropDatabase(restored);
    PG.dropDatabase(guided);
  }

  @Test
  @Order(1)
  void backupRestoresToAnIdenticalDatabase() throws Exception {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    backupId = b.out().trim();
    assertThat(backupId).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
    assertThat(b.err()).contains("backup " + backupId + " complete");

    Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target", PG.url(restored));
    assertThat(r.exitCode()).as(r.err()).isZero();

    DatabaseComparison.compare(PG, source, restored).assertEqual();
  }

  @Test
  @Order(2)
  void tasksAndEventsCrossedTheBroker() throws Exception {
    Path manifestPath = manifest();
    JsonNode manifest = JSON.readTree(manifestPath.toFile());
    int tables = manifest.get("data").size();
    assertThat(tables).isEqualTo(countTables(source));

    List<JsonNode> tasks = TestKafka.readAll("pgfleet.tasks").stream().map(TrapsRoundTripIT::json)
        .filter(t -> t.get("header").get("backupId").asText().equals(backupId)).toList();
    assertThat(tasks.stream().filter(t -> t.get("kind").asText().equals("schema"))).hasSize(1);
    assertThat(tasks.stream().filter(t -> t.get("kind").asText().equals("globals"))).hasSize(1);
    Set<String> tasked = tasks.stream().filter(t -> t.get("kind").asText().equals("table-data"))
        .map(t -> t.get("table").get("schema").asText() + "." + t.get("table").get("name").asText())
        .collect(Collectors.toSet());
    Set<String> inManifest = Stream.iterate(0, i -> i + 1).limit(tables).map(i -> manifest.get("data").get(i))
        .map(a -> a.get("table").get("schema").asText() + "." + a.get("table").get("name").asText())
        .collect(Collectors.toSet());
    assertThat(tasked).isEqualTo(inManifest).hasSize(tables);

    List<JsonNode> events = TestKafka.readAll("pgfleet.events").stream().map(TrapsRoundTripIT::json)
        .filter(e -> backupId.equals(e.path("backupid").asText())).toList();
    assertThat(events).allSatisfy(e -> {
      assertThat(e.get("specversion").asText()).isEqualTo("1.0");
      assertThat(e.get("subject").asText()).endsWith("/" + source);
    });
    assertThat(events.stream().filter(e -> e.get("type").asText().equals("io.pgfleet.task.completed"))
        .map(e -> e.get("taskid").asText()).distinct()).hasSize(tables + 2);
    assertThat(events.stream().map(e -> e.get("type").asText()))
        .contains("io.pgfleet.backup.started", "io.pgfleet.backup.completed");
    // Two workers really shared the work.
    assertThat(events.stream().filter(e -> e.get("type").asText().equals("io.pgfleet.task.completed"))
        .map(e -> e.get("data").get("worker").asText()).distinct()).hasSize(2);
  }

  @Test
  @Order(3)
  void everyBackupCarriesItsRestoreGuideAndIsListed() throws Exception {
    Path guide = manifest().resolveSibling("RESTORE.md");
    String text = Files.readString(guide);
    assertThat(text).contains("pg_restore --section=pre-data", "zstd -dc data/00001.",
        "pg_restore --section=post-data", "sha256sum -c");
    Cli.Result list = Cli.run("list", "--repo", repo.toString());
    assertThat(list.exitCode()).isZero();
    assertThat(list.out()).contains(backupId, source);
    Cli.Result ok = Cli.run("verify", "--repo", repo.toString(), "--backup", "latest");
    assertThat(ok.exitCode()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("OK");
  }

  /** RESTORE.md is runnable as written: its shell blocks, run in the backup folder, rebuild the same database. */
  @Test
  @Order(4)
  void restoreGuideRebuildsTheDatabaseWithStandardToolsOnly() throws Exception {
    BackupFiles.runRestoreGuide(manifest().getParent(), guided, PG);
    DatabaseComparison.compare(PG, source, guided).assertEqual();
  }

  @Test
  @Order(5)
  void verifyAndRestoreNameAFlippedByte() throws Exception {
    Path artifact;
    try (Stream<Path> s = Files.list(manifest().resolveSibling("data"))) {
      artifact = s.filter(p -> p.getFileName().toString().startsWith("00002.")).findFirst().orElseThrow();
    }
    String name = "data/" + artifact.getFileName();
    BackupFiles.flipMiddleByte(artifact);
    Cli.Result v = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId);
    assertThat(v.exitCode()).isEqualTo(1);
    assertThat(v.err()).contains(name).contains("SHA-256");
    assertThat(v.err().lines().filter(l -> l.contains("BAD artifact"))).hasSize(1);

    String target = PG.uniqueDbName("traps_bad");
    try {
      Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target", PG.url(target));
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(r.errorLines()).hasSize(1);
      assertThat(r.errorLines().get(0)).contains(name).contains("corrupt");
    } finally {
      PG.dropDatabase(target);
    }
  }

  @Test
  @Order(6)
  void verifyAndRestoreNameATruncatedArtifact() throws Exception {
    Path artifact;
    try (Stream<Path> s = Files.list(manifest().resolveSibling("data"))) {
      artifact = s.filter(p -> p.getFileName().toString().startsWith("00003.")).findFirst().orElseThrow();
    }
    String name = "data/" + artifact.getFileName();
    try (Stream<Path> s = Files.list(manifest().resolveSibling("data"))) {
      // flipping the same bit again undoes test 5's corruption: the truncation is then the only fault
      BackupFiles.flipMiddleByte(s.filter(p -> p.getFileName().toString().startsWith("00002.")).findFirst()
          .orElseThrow());
    }
    long size = Files.size(artifact);
    try (RandomAccessFile f = new RandomAccessFile(artifact.toFile(), "rw")) {
      f.setLength(size / 2);
    }
    Cli.Result v = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId);
    assertThat(v.exitCode()).isEqualTo(1);
    assertThat(v.err()).contains(name).contains("size " + size / 2 + " bytes, manifest says " + size);
    assertThat(v.err().lines().filter(l -> l.contains("BAD artifact"))).as(v.err()).hasSize(1);

    String target = PG.uniqueDbName("traps_cut");
    try {
      Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target", PG.url(target));
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(r.errorLines()).as(r.err()).hasSize(1);
      assertThat(r.errorLines().get(0)).contains(name)
          .contains("is corrupt: it holds " + size / 2 + " bytes, manifest says " + size);
    } finally {
      PG.dropDatabase(target);
    }
  }

  private static Path manifest() throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> p.getParent().getFileName().toString().equals(backupId)).findFirst().orElseThrow();
    }
  }

  private static int countTables(String db) throws Exception {
    try (Connection c = PG.connect(db); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
             + " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static JsonNode json(ConsumerRecord<String, String> r) {
    try {
      return JSON.readTree(r.value());
    } catch (Exception e) {
      throw new AssertionError("not JSON on " + r.topic() + ": " + r.value(), e);
    }
  }
}
