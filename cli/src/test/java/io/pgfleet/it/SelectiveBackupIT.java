package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgfleet-mode backups with pg_dump's selection (-n, -N, -T, --exclude-table-data), restored into fresh
 * databases: exactly the selected tables come back, the --exclude-table-data ones empty, the others with the
 * source's rows; the manifest and {@code pgfleet show} say the backup is partial; a pattern that matches nothing
 * fails the backup on one line. The planner (COPY tasks) and pg_dump (definitions) must agree on every table.
 */
class SelectiveBackupIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final List<String> DATABASES = new ArrayList<>();
  private static String source;
  @TempDir
  static Path repo;

  @BeforeAll
  static void load() throws Exception {
    source = db("selbk_src");
    PG.createDatabase(source);
    exec(source, """
        CREATE SCHEMA sales;
        CREATE SCHEMA "Ops";
        CREATE SCHEMA scratch;
        CREATE TABLE public.settings (k text PRIMARY KEY, v text);
        CREATE TABLE sales.customers (id int PRIMARY KEY, name text NOT NULL);
        CREATE TABLE sales.orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES sales.customers,
            amount numeric NOT NULL);
        CREATE TABLE sales.order_log (id bigint, note text);
        CREATE TABLE sales.tmp_import (id int);
        CREATE TABLE "Ops"."Jobs" (id int PRIMARY KEY, state text);
        CREATE TABLE "Ops".audit (id int, what text);
        CREATE TABLE scratch.junk (x int);
        CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 50;
        INSERT INTO public.settings SELECT 'k' || i, 'v' || i FROM generate_series(1, 5) i;
        INSERT INTO sales.customers SELECT i, 'customer ' || i FROM generate_series(1, 200) i;
        INSERT INTO sales.orders (customer_id, amount) SELECT 1 + i % 200, i % 97 FROM generate_series(1, 3000) i;
        INSERT INTO sales.order_log SELECT i, 'note ' || i FROM generate_series(1, 500) i;
        INSERT INTO sales.tmp_import SELECT generate_series(1, 50);
        INSERT INTO "Ops"."Jobs" SELECT i, CASE WHEN i % 2 = 0 THEN 'done' ELSE 'queued' END FROM generate_series(1, 40) i;
        INSERT INTO "Ops".audit SELECT i, 'event ' || i FROM generate_series(1, 300) i;
        INSERT INTO scratch.junk SELECT generate_series(1, 10);
        """);
  }

  @AfterAll
  static void drop() throws Exception {
    for (String d : DATABASES) {
      PG.dropDatabase(d);
    }
  }

  /** -n with a quoted mixed-case schema, -T with a wildcard, --exclude-table-data by name and by schema.name. */
  @Test
  void onlyTheSelectedSchemasComeBackWithoutTheExcludedTablesAndRows() throws Exception {
    Cli.Result b = backup("-n", "sales", "-n", "\"Ops\"", "-T", "sales.tmp_*", "--exclude-table-data",
        "sales.order_log", "--exclude-table-data", "\"Ops\".audit");
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();
    assertThat(b.err()).contains("pgfleet: plan: selection -n sales -n \"Ops\" -T sales.tmp_* --exclude-table-data"
        + " sales.order_log --exclude-table-data \"Ops\".audit: 5 of 8 tables; rows left out of 2 of them");

    String target = restore(backupId, "selbk_n");
    assertThat(tables(target)).containsExactly("Ops.Jobs", "Ops.audit", "sales.customers", "sales.order_log",
        "sales.orders");
    assertThat(schemas(target)).contains("sales", "Ops").doesNotContain("scratch");
    for (String t : List.of("sales.customers", "sales.orders", "\"Ops\".\"Jobs\"")) {
      assertThat(digest(target, t)).as(t).isEqualTo(digest(source, t)).doesNotStartWith("0 ");
    }
    assertThat(count(target, "sales.order_log")).isZero();
    assertThat(count(target, "\"Ops\".audit")).isZero();
    assertThat(digest(target, "sales.big_orders")).isEqualTo(digest(source, "sales.big_orders"));
    String fk = "SELECT count(*) FROM pg_constraint WHERE conrelid = 'sales.orders'::regclass AND contype = 'f'";
    assertThat(scalar(target, fk)).isEqualTo("1");

    JsonNode m = manifest(backupId);
    JsonNode selection = m.get("selection");
    assertThat(selection).as("manifest selection").isNotNull();
    assertThat(selection.get("schemas").toString()).isEqualTo("[\"sales\",\"\\\"Ops\\\"\"]");
    assertThat(selection.get("excludeSchemas").toString()).isEqualTo("[]");
    assertThat(selection.get("excludeTables").toString()).isEqualTo("[\"sales.tmp_*\"]");
    assertThat(selection.get("excludeTableData").toString())
        .isEqualTo("[\"sales.order_log\",\"\\\"Ops\\\".audit\"]");
    Set<String> copied = new TreeSet<>();
    m.get("data").forEach(a -> copied.add(a.get("table").get("schema").asText() + "." + a.get("table").get("name").asText()));
    assertThat(copied).containsExactly("Ops.Jobs", "sales.customers", "sales.orders");

    Cli.Result show = Cli.run("show", "--repo", repo.toString(), "--backup", backupId);
    assertThat(show.exitCode()).as(show.err()).isZero();
    assertThat(show.out()).contains("selection -n sales -n \"Ops\" -T sales.tmp_*").contains("partial backup");
  }

  /**
   * -N by exact and by unquoted name (folded to lower case, so it does not exclude "Ops"), rows left out by name
   * and by wildcard.
   * -T without a schema matches, as in pg_dump (and psql), only tables visible in the search path: public.settings,
   * not sales.tmp_import, which comes back whole.
   */
  @Test
  void excludedSchemasAndTablesStayOutAndTheRestComesBack() throws Exception {
    Cli.Result b = backup("-N", "scratch", "-N", "OPS", "-T", "settings", "-T", "tmp_import",
        "--exclude-table-data", "sales.orders", "--exclude-table-data", "sales.order?log");
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();

    String target = restore(backupId, "selbk_x");
    assertThat(tables(target)).containsExactly("Ops.Jobs", "Ops.audit", "sales.customers", "sales.order_log",
        "sales.orders", "sales.tmp_import");
    assertThat(schemas(target)).doesNotContain("scratch");
    for (String t : List.of("sales.customers", "sales.tmp_import", "\"Ops\".\"Jobs\"", "\"Ops\".audit")) {
      assertThat(digest(target, t)).as(t).isEqualTo(digest(source, t)).doesNotStartWith("0 ");
    }
    assertThat(count(target, "sales.orders")).isZero();
    assertThat(count(target, "sales.order_log")).isZero();
    // the sequence's value comes back without the rows: no pattern matched the sequence itself (pg_dump applies
    // --exclude-table-data to sequences too, so 'sales.order*' would have left it out)
    String seq = "SELECT last_value || ' ' || is_called FROM sales.orders_id_seq";
    assertThat(scalar(target, seq)).isEqualTo(scalar(source, seq));
    assertThat(manifest(backupId).get("selection").get("excludeSchemas").toString())
        .isEqualTo("[\"scratch\",\"OPS\"]");
  }

  @Test
  void aSchemaPatternThatMatchesNothingFailsTheBackupOnOneLine() throws Exception {
    Cli.Result r = backup("-n", "no_such_schema");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).singleElement().satisfies(l -> assertThat(l)
        .contains("no backup was written", "no matching schemas were found for pattern no_such_schema"));
    assertThat(r.out()).isEmpty();

    // "Ops" is not ops: unquoted letters are folded to lower case, as pg_dump does
    Cli.Result folded = backup("-n", "Ops");
    assertThat(folded.exitCode()).isEqualTo(1);
    assertThat(folded.errorLines()).singleElement().satisfies(l -> assertThat(l)
        .contains("no matching schemas were found for pattern Ops"));

    Cli.Result empty = backup("-n", "sales", "-T", "sales.*");
    assertThat(empty.exitCode()).isEqualTo(1);
    assertThat(empty.errorLines()).singleElement().satisfies(l -> assertThat(l)
        .contains("no backup was written", "holds no table", "-n sales"));

    Cli.Result bad = backup("-T", "a.b.c");
    assertThat(bad.exitCode()).isEqualTo(1);
    assertThat(bad.errorLines()).singleElement().satisfies(l -> assertThat(l).contains("-T a.b.c", "more than one dot"));
  }

  // ------------------------------------------------------------------ helpers

  private static Cli.Result backup(String... selection) {
    List<String> args = new ArrayList<>(List.of("backup", PG.url(source), "--repo", repo.toString(), "--workers",
        "2", "--kafka", TestKafka.bootstrapServers()));
    args.addAll(List.of(selection));
    return Cli.run(args.toArray(String[]::new));
  }

  private static String restore(String backupId, String prefix) {
    String target = db(prefix);
    Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target", PG.url(target));
    assertThat(r.exitCode()).as(r.err()).isZero();
    return target;
  }

  private static String db(String prefix) {
    String name = PG.uniqueDbName(prefix);
    DATABASES.add(name);
    return name;
  }

  private static JsonNode manifest(String backupId) throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      Path p = s.filter(f -> f.getFileName().toString().equals("manifest.json"))
          .filter(f -> f.getParent().getFileName().toString().equals(backupId)).findFirst().orElseThrow();
      return JSON.readTree(p.toFile());
    }
  }

  private static void exec(String db, String sql) throws SQLException {
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private static String scalar(String db, String sql) throws SQLException {
    try (Connection c = PG.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static Set<String> column(String db, String sql) throws SQLException {
    Set<String> out = new TreeSet<>();
    try (Connection c = PG.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Ordinary tables as unquoted schema.name. */
  private static Set<String> tables(String db) throws SQLException {
    return column(db, "SELECT n.nspname || '.' || c.relname FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
        + " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'");
  }

  private static Set<String> schemas(String db) throws SQLException {
    return column(db, "SELECT nspname FROM pg_namespace");
  }

  private static long count(String db, String table) throws SQLException {
    return Long.parseLong(scalar(db, "SELECT count(*) FROM " + table));
  }

  /** Row count and the md5 of the rows' text in order; {@code table} is SQL (quoted as needed). */
  private static String digest(String db, String table) throws SQLException {
    return scalar(db, "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-')"
        + " FROM " + table + " t");
  }
}
