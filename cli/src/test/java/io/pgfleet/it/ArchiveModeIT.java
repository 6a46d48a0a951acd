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
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * pg_dump archive mode on the traps fixture: each format is backed up through the broker, listed and verified
 * like any backup, then restored with psql or pg_restore only, by running the shell blocks of its RESTORE.md,
 * and compared with the source by an independent SQL content check.
 */
class ArchiveModeIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final List<String> CREATED = new ArrayList<>();
  private static String source;
  @TempDir
  static Path repo;

  @BeforeAll
  static void load() throws Exception {
    source = PG.uniqueDbName("archive_src");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
    // The fixture leaves the ledger empty; rows make --exclude-table-data observable.
    try (Connection c = PG.connect(source); Statement st = c.createStatement()) {
      st.execute("INSERT INTO bank.ledger (from_id, to_id, amount) SELECT i, i + 1, 5 FROM generate_series(1, 50) i");
    }
  }

  @AfterAll
  static void drop() throws Exception {
    PG.dropDatabase(source);
    for (String db : CREATED) {
      PG.dropDatabase(db);
    }
  }

  @ParameterizedTest(name = "{0} format, pg_dump -j {1}")
  @CsvSource({"plain, 1, .sql", "custom, 1, .dump", "directory, 2, /"})
  void eachFormatRestoresWithTheStandardToolsToAnIdenticalDatabase(String format, int jobs, String suffix)
      throws Exception {
    List<String> args = new ArrayList<>(List.of("backup", PG.url(source), "--repo", repo.toString(),
        "--kafka", TestKafka.bootstrapServers(), "--format", format));
    if (jobs > 1) {
      args.addAll(List.of("--dump-jobs", Integer.toString(jobs)));
    }
    Cli.Result b = Cli.run(args.toArray(String[]::new));
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();
    assertThat(b.err()).contains("backup " + backupId + " complete: " + format + " pg_dump archive");

    Path folder = folder(backupId);
    JsonNode m = JSON.readTree(folder.resolve("manifest.json").toFile());
    JsonNode archive = m.get("archive");
    assertThat(archive.get("format").asText()).isEqualTo(format);
    assertThat(archive.get("jobs").asInt()).isEqualTo(jobs);
    String key = archive.get("key").asText();
    assertThat(key).matches("archive\\.[0-9a-f]{8}" + (suffix.equals("/") ? "/" : "\\" + suffix));
    assertThat(m.get("data")).isEmpty();
    assertThat(m.has("schema")).isFalse();
    assertThat(archive.get("files")).allSatisfy(f -> {
      assertThat(f.get("kind").asText()).isEqualTo("pg-dump-" + format);
      assertThat(f.get("sha256").asText()).hasSize(64);
      assertThat(folder.resolve(f.get("key").asText())).isRegularFile();
    });
    if (format.equals("directory")) {
      List<String> names = new ArrayList<>();
      archive.get("files").forEach(f -> names.add(f.get("key").asText()));
      assertThat(names).contains(key + "toc.dat").anySatisfy(n -> assertThat(n).matches(".*/\\d+\\.dat\\.gz"));
    } else {
      assertThat(archive.get("files")).hasSize(1);
      assertThat(archive.get("files").get(0).get("key").asText()).isEqualTo(key);
    }
    // Nothing but the manifest, the guide and the archive's files: no temporary directory left in the folder.
    try (Stream<Path> s = Files.walk(folder)) {
      assertThat(s.filter(Files::isRegularFile).count()).isEqualTo(archive.get("files").size() + 2);
    }

    Cli.Result list = Cli.run("list", "--repo", repo.toString());
    assertThat(list.exitCode()).isZero();
    assertThat(list.out().lines().filter(l -> l.startsWith(backupId))).singleElement()
        .satisfies(l -> assertThat(l).contains(source, format));
    Cli.Result ok = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId);
    assertThat(ok.exitCode()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("OK", archive.get("files").size() + " artifacts");
    Cli.Result show = Cli.run("show", "--repo", repo.toString(), "--backup", backupId);
    assertThat(show.exitCode()).as(show.err()).isZero();
    assertThat(show.out()).contains(format + " pg_dump archive", key);

    String notHere = PG.uniqueDbName("archive_refused");
    Cli.Result refused = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target",
        PG.url(notHere));
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.errorLines()).singleElement().satisfies(l -> assertThat(l)
        .contains("archive mode", format.equals("plain") ? "psql" : "pg_restore", key));

    String target = PG.uniqueDbName("archive_" + format);
    CREATED.add(target);
    String guide = Files.readString(folder.resolve("RESTORE.md"));
    assertThat(guide).contains("sha256sum -c", format.equals("plain")
        ? "psql -X -v ON_ERROR_STOP=1 -d \"$TARGET\" -f " + key
        : "pg_restore --exit-on-error" + (jobs > 1 ? " -j " + jobs : "") + " -d \"$TARGET\" " + key);
    runGuide(folder, target);
    DatabaseComparison.compare(PG, source, target).assertEqual();
  }

  @Test
  void aSchemaWithoutOneTablesRowsRestoresThatSelection() throws Exception {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--kafka",
        TestKafka.bootstrapServers(), "--format", "custom", "-n", "bank", "--exclude-table-data", "bank.ledger");
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();
    JsonNode archive = JSON.readTree(folder(backupId).resolve("manifest.json").toFile()).get("archive");
    assertThat(archive.get("args").toString()).isEqualTo("[\"--schema=bank\",\"--exclude-table-data=bank.ledger\"]");

    String target = PG.uniqueDbName("archive_bank");
    CREATED.add(target);
    runGuide(folder(backupId), target);
    assertThat(count(source, "bank.ledger")).isPositive();
    assertThat(count(target, "bank.ledger")).isZero();
    assertThat(count(target, "bank.accounts")).isEqualTo(count(source, "bank.accounts")).isPositive();
    assertThat(count(target, "pg_namespace WHERE nspname = 'app'")).isZero();
  }

  @Test
  void aPatternThatMatchesNothingFailsTheBackupOnOneLine() throws Exception {
    Cli.Result r = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--kafka",
        TestKafka.bootstrapServers(), "--format", "plain", "-t", "app.no_such_table");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).singleElement().satisfies(l -> assertThat(l)
        .contains("no backup was written", "no matching tables were found", "app.no_such_table"));
    assertThat(r.out()).isEmpty();
  }

  @Test
  void badArchiveFlagsAreOneLineUserErrors() {
    Cli.Result empty = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--format", "custom", "-t", "");
    assertThat(empty.exitCode()).isEqualTo(1);
    assertThat(empty.errorLines()).singleElement().satisfies(l -> assertThat(l).contains("--table", "empty"));

    Cli.Result dash = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--format", "custom",
        "--exclude-table-data=--file=/tmp/x");
    assertThat(dash.exitCode()).isEqualTo(1);
    assertThat(dash.errorLines()).singleElement().satisfies(l -> assertThat(l).contains("starts with '-'"));

    // -n, -N, -T and --exclude-table-data also select in pgfleet mode; -t is archive mode's only
    Cli.Result noFormat = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "-t", "bank.ledger");
    assertThat(noFormat.exitCode()).isEqualTo(1);
    assertThat(noFormat.errorLines()).singleElement().satisfies(l -> assertThat(l).contains("--format"));

    Cli.Result jobs = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--format", "custom",
        "--dump-jobs", "4");
    assertThat(jobs.exitCode()).isEqualTo(1);
    assertThat(jobs.errorLines()).singleElement().satisfies(l -> assertThat(l).contains("--format directory"));
  }

  /** Runs the shell blocks of the backup's RESTORE.md in its folder, with TARGET set to {@code target}. */
  private static void runGuide(Path folder, String target) throws Exception {
    String script = BackupFiles.runRestoreGuide(folder, target, PG);
    assertThat(script).doesNotContain("pgfleet").containsAnyOf("psql ", "pg_restore ");
  }

  private static long count(String db, String from) throws Exception {
    try (Connection c = PG.connect(db); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT count(*) FROM " + from)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static Path folder(String backupId) throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals(backupId)).findFirst().orElseThrow();
    }
  }
}
