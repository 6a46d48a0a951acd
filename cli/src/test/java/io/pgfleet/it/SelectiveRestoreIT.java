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
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Selective restore (--table, --schema, --exclude-table, --schema-only, --data-only, --clean, --into-source) from one
 * backup of the traps fixture, each outcome checked with SQL of its own: table lists from pg_class, per-table row
 * counts and content digests, and the catalog (pg_indexes, pg_constraint, pg_trigger, pg_policies).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SelectiveRestoreIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final List<String> DATABASES = new ArrayList<>();
  private static String source;
  private static String backupId;
  /** The whole backup restored, then repaired table by table (tests 2 and 3). */
  private static String copy;
  /** --schema-only, then --data-only of one schema (tests 6 to 8). */
  private static String shell;
  @TempDir
  static Path repo;

  @BeforeAll
  static void backup() throws Exception {
    source = db("sel_src");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    backupId = b.out().trim();
  }

  @AfterAll
  static void drop() throws Exception {
    for (String d : DATABASES) {
      PG.dropDatabase(d);
    }
  }

  /**
   * A table whose schema is absent cannot be created: like pg_restore -t, a table selection does not bring the
   * schema (it may hold much else), so the schema is created first. app.events needs nothing else from app (no
   * types, no functions); its identity sequence must come with it.
   */
  @Test
  @Order(1)
  void oneTableIntoANewDatabase() throws Exception {
    String target = db("sel_one");
    PG.createDatabase(target);
    exec(target, "CREATE SCHEMA app");

    Cli.Result r = restore(target, "-t", "app.events");
    assertThat(r.exitCode()).as(r.err()).isZero();

    assertThat(tables(target)).containsExactly("app.events");
    assertSameContent(target, "app.events");
    assertThat(indexes(target, "app.events")).isEqualTo(indexes(source, "app.events")).isNotEmpty();
    assertThat(constraints(target, "app.events")).isEqualTo(constraints(source, "app.events"))
        .anyMatch(c -> c.startsWith("events_pkey p PRIMARY KEY"));
    String identity = "SELECT attidentity FROM pg_attribute WHERE attrelid = 'app.events'::regclass AND attname = 'id'";
    assertThat(scalar(target, identity)).isEqualTo("a");
    String seq = "SELECT last_value || ' ' || is_called FROM app.events_id_seq";
    assertThat(scalar(target, seq)).isEqualTo(scalar(source, seq));
  }

  /**
   * The usual repair: two tables dropped from a full copy come back with rows, indexes, constraints, the FK to a
   * table that stayed and the FK from one, the trigger, the row security policy and the grant; the rest is untouched.
   */
  @Test
  @Order(2)
  void droppedTablesComeBackIntoACopyThatHasTheOthers() throws Exception {
    copy = db("sel_copy");
    Cli.Result whole = restore(copy);
    assertThat(whole.exitCode()).as(whole.err()).isZero();
    exec(copy, "INSERT INTO app.customers (id, name, email, category_id) VALUES (99999, 'added later', 'a@b.c', 1)");
    String customers = digest(copy, "app.customers");
    String categories = digest(copy, "app.categories");
    String lineItems = digest(copy, "app.line_items");
    // CASCADE also drops the FK from app.line_items and the views on app.orders (views are not brought back by -t)
    exec(copy, "DROP TABLE app.orders CASCADE; DROP TABLE \"Ops-Δ\".secrets");

    Cli.Result r = restore(copy, "-t", "app.orders", "-t", "\"Ops-Δ\".secrets");
    assertThat(r.exitCode()).as(r.err()).isZero();

    for (String t : List.of("app.orders", "\"Ops-Δ\".secrets")) {
      assertSameContent(copy, t);
      assertThat(indexes(copy, t)).isEqualTo(indexes(source, t)).isNotEmpty();
      assertThat(constraints(copy, t)).isEqualTo(constraints(source, t));
      assertThat(triggers(copy, t)).isEqualTo(triggers(source, t));
    }
    assertThat(constraints(copy, "app.orders")).anyMatch(c -> c.startsWith("orders_pkey p "))
        .anyMatch(c -> c.startsWith("orders_customer_id_fkey f "));
    assertThat(constraints(copy, "app.line_items")).isEqualTo(constraints(source, "app.line_items"))
        .anyMatch(c -> c.startsWith("line_items_order_id_fkey f "));
    assertThat(triggers(copy, "app.orders")).containsExactly("orders_touch");
    assertThat(policies(copy)).isEqualTo(policies(source)).startsWith("Ops-Δ.secrets owner_sees_all ");
    String rls = "SELECT relrowsecurity || ' ' || relforcerowsecurity || ' ' || relacl::text FROM pg_class"
        + " WHERE oid = '\"Ops-Δ\".secrets'::regclass";
    assertThat(scalar(copy, rls)).isEqualTo(scalar(source, rls)).startsWith("true true");
    String seq = "SELECT last_value || ' ' || is_called FROM app.orders_id_seq";
    assertThat(scalar(copy, seq)).isEqualTo(scalar(source, seq));
    // the trigger is created after the rows are loaded: it fired for none of them
    assertSameContent(copy, "app.audit_log");

    assertThat(tables(copy)).isEqualTo(tables(source));
    assertThat(digest(copy, "app.customers")).isEqualTo(customers);
    assertThat(scalar(copy, "SELECT name FROM app.customers WHERE id = 99999")).isEqualTo("added later");
    assertThat(digest(copy, "app.categories")).isEqualTo(categories);
    assertThat(digest(copy, "app.line_items")).isEqualTo(lineItems);
  }

  @Test
  @Order(3)
  void restoringATableThatIsThereNeedsClean() throws Exception {
    String before = digest(copy, "app.customers");
    Cli.Result r = restore(copy, "-t", "\"Ops-Δ\".secrets");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("\"Ops-Δ\".\"secrets\"").contains("--clean");

    Cli.Result clean = restore(copy, "-t", "\"Ops-Δ\".secrets", "--clean");
    assertThat(clean.exitCode()).as(clean.err()).isZero();
    assertSameContent(copy, "\"Ops-Δ\".secrets");
    assertThat(policies(copy)).isEqualTo(policies(source));
    assertThat(indexes(copy, "\"Ops-Δ\".secrets")).isEqualTo(indexes(source, "\"Ops-Δ\".secrets"));
    assertThat(digest(copy, "app.customers")).isEqualTo(before);
  }

  @Test
  @Order(4)
  void oneSchemaIntoANewDatabase() throws Exception {
    String target = db("sel_schema");
    Cli.Result r = restore(target, "-n", "bank");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(tables(target)).containsExactly("bank.accounts", "bank.ledger");
    assertSameContent(target, "bank.accounts");
    assertSameContent(target, "bank.ledger");
    assertThat(indexes(target, "bank.accounts")).isEqualTo(indexes(source, "bank.accounts"));
    String seq = "SELECT last_value || ' ' || is_called FROM bank.ledger_id_seq";
    assertThat(scalar(target, seq)).isEqualTo(scalar(source, seq));
    assertThat(scalar(target, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('app', 'Ops-Δ')")).isEqualTo("0");
  }

  @Test
  @Order(5)
  void excludeTableLeavesOutTheTableAndWhatDependsOnIt() throws Exception {
    String target = db("sel_exclude");
    Cli.Result r = restore(target, "-T", "app.line_items");
    assertThat(r.exitCode()).as(r.err()).isZero();
    Set<String> expected = new TreeSet<>(tables(source));
    expected.remove("app.line_items");
    assertThat(tables(target)).isEqualTo(expected);
    for (String t : expected) {
      assertSameContent(target, quoted(t));
      assertThat(indexes(target, quoted(t))).as(t).isEqualTo(indexes(source, quoted(t)));
      assertThat(constraints(target, quoted(t))).as(t).isEqualTo(constraints(source, quoted(t)));
    }
    // its owned sequence went with it; everything else (views, other sequences, large objects) is there
    assertThat(scalar(target, "SELECT to_regclass('app.line_items_id_seq') IS NULL")).isEqualTo("t");
    assertThat(scalar(target, "SELECT count(*) FROM pg_views WHERE schemaname = 'app'")).isEqualTo("1");
    assertSameContent(target, "app.customer_order_stats");
    assertThat(scalar(target, "SELECT count(*) FROM pg_largeobject_metadata")).isEqualTo("3");
  }

  @Test
  @Order(6)
  void schemaOnlyGivesEmptyTablesWithTheirIndexes() throws Exception {
    shell = db("sel_shell");
    Cli.Result r = restore(shell, "--schema-only");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(tables(shell)).isEqualTo(tables(source));
    for (String t : tables(shell)) {
      assertThat(scalar(shell, "SELECT count(*) FROM ONLY " + quoted(t))).as(t).isEqualTo("0");
      assertThat(indexes(shell, quoted(t))).as(t).isEqualTo(indexes(source, quoted(t)));
      assertThat(constraints(shell, quoted(t))).as(t).isEqualTo(constraints(source, quoted(t)));
    }
    assertThat(policies(shell)).isEqualTo(policies(source));
  }

  /** The rows of one schema into its empty tables of test 6; the other tables stay empty. */
  @Test
  @Order(7)
  void dataOnlyFillsEmptyTables() throws Exception {
    Cli.Result r = restore(shell, "--data-only", "-n", "bank");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertSameContent(shell, "bank.accounts");
    assertSameContent(shell, "bank.ledger");
    String seq = "SELECT last_value || ' ' || is_called FROM bank.ledger_id_seq";
    assertThat(scalar(shell, seq)).isEqualTo(scalar(source, seq));
    assertThat(scalar(shell, "SELECT count(*) FROM app.customers")).isEqualTo("0");
    assertThat(indexes(shell, "bank.accounts")).isEqualTo(indexes(source, "bank.accounts"));
  }

  /**
   * The whole backup's rows into the empty tables of a --schema-only restore. The materialized view is the one
   * expected difference: its refresh is post-data, which --schema-only ran over empty tables and --data-only does
   * not run again.
   */
  @Test
  @Order(12)
  void dataOnlyOfTheWholeBackupIntoASchemaOnlyRestore() throws Exception {
    String target = db("sel_data");
    assertThat(restore(target, "--schema-only").exitCode()).isZero();
    Cli.Result r = restore(target, "--data-only");
    assertThat(r.exitCode()).as(r.err()).isZero();
    for (String t : tables(source)) {
      assertSameContent(target, quoted(t));
    }
    DatabaseComparison.Report report = DatabaseComparison.compare(PG, source, target);
    assertThat(report.differences()).as(report.toString()).singleElement().asString()
        .startsWith("materialized view app.customer_order_stats: 500 rows in " + source + " but 0 rows in " + target);
    exec(target, "REFRESH MATERIALIZED VIEW app.customer_order_stats");
    DatabaseComparison.compare(PG, source, target).assertEqual();
  }

  @Test
  @Order(8)
  void dataOnlyRefusesATableThatHasRows() throws Exception {
    Map<String, String> before = digests(shell);
    Cli.Result r = restore(shell, "--data-only", "-t", "bank.accounts");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("\"bank\".\"accounts\"").contains("already has rows");
    Cli.Result all = restore(shell, "--data-only");
    assertThat(all.exitCode()).isEqualTo(1);
    assertThat(all.errorLines()).hasSize(1);
    assertThat(all.errorLines().get(0)).contains("\"bank\".\"accounts\" in").contains("already has rows");
    assertThat(digests(shell)).isEqualTo(before);
  }

  @Test
  @Order(9)
  void theSourceItselfNeedsIntoSource() throws Exception {
    Map<String, String> before = digests(source);
    String policiesBefore = policies(source);
    Cli.Result r = restore(source, "-t", "\"Ops-Δ\".secrets", "--clean");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("is the database backup " + backupId + " was taken from")
        .contains("--into-source");
    assertThat(digests(source)).isEqualTo(before);

    Cli.Result ok = restore(source, "-t", "\"Ops-Δ\".secrets", "--clean", "--into-source");
    assertThat(ok.exitCode()).as(ok.err()).isZero();
    assertThat(digests(source)).isEqualTo(before);
    assertThat(policies(source)).isEqualTo(policiesBefore);
  }

  @Test
  @Order(10)
  void aPatternThatCannotBeReadIsOneLine() throws Exception {
    String target = db("sel_pattern");
    for (String bad : List.of("a.b.c", "\"unclosed")) {
      Cli.Result r = restore(target, "-t", bad);
      // UserError: exit 1 like every other bad option value (--jobs 0); picocli's own parse errors give 2
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(r.errorLines()).hasSize(1);
      assertThat(r.errorLines().get(0)).contains("pattern '");
      assertThat(r.err()).doesNotContain("restoring backup");
    }
    assertThat(scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + target + "'"))
        .isEqualTo("0");
  }

  @Test
  @Order(11)
  void aCorruptArtifactNamesItselfAndTheTablesLeftEmpty() throws Exception {
    Path manifest;
    try (Stream<Path> s = Files.walk(repo)) {
      manifest = s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> p.getParent().getFileName().toString().equals(backupId)).findFirst().orElseThrow();
    }
    String key = null;
    for (JsonNode a : new ObjectMapper().readTree(manifest.toFile()).get("data")) {
      if (a.get("table").get("name").asText().equals("secrets")) {
        key = a.get("key").asText();
      }
    }
    assertThat(key).isNotNull();
    Path artifact = manifest.resolveSibling(key);
    byte[] original = Files.readAllBytes(artifact);
    BackupFiles.flipMiddleByte(artifact);
    try {
      String target = db("sel_corrupt");
      Cli.Result r = restore(target);
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(r.errorLines()).hasSize(1);
      String error = r.errorLines().get(0);
      assertThat(error).contains("artifact " + key).contains("corrupt").contains("not restored, left empty: ");
      // the list of tables left empty names the corrupt one (it shows the first 10 in name order)
      assertThat(error.substring(error.indexOf("not restored, left empty: "))).contains("\"Ops-Δ\".\"secrets\"");
      assertThat(scalar(target, "SELECT count(*) FROM \"Ops-Δ\".secrets")).isEqualTo("0");
    } finally {
      Files.write(artifact, original);
    }
  }

  // ------------------------------------------------------------------ helpers

  private static String db(String prefix) {
    String name = PG.uniqueDbName(prefix);
    DATABASES.add(name);
    return name;
  }

  private static Cli.Result restore(String target, String... options) {
    List<String> args = new ArrayList<>(List.of("restore", "--repo", repo.toString(), "--backup", backupId,
        "--target", PG.url(target)));
    args.addAll(List.of(options));
    return Cli.run(args.toArray(String[]::new));
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

  private static List<String> column(String db, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = PG.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Ordinary tables and partitions (not partitioned parents) as unquoted schema.name. */
  private static Set<String> tables(String db) throws SQLException {
    return new TreeSet<>(column(db, "SELECT n.nspname || '.' || c.relname FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
        + " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"));
  }

  /** A name from {@link #tables} as SQL: the fixture's names hold no dots. */
  private static String quoted(String table) {
    int dot = table.indexOf('.');
    return "\"" + table.substring(0, dot).replace("\"", "\"\"") + "\".\""
        + table.substring(dot + 1).replace("\"", "\"\"") + "\"";
  }

  /** Row count and the md5 of the rows' text in order; {@code table} is SQL (quoted as needed). */
  private static String digest(String db, String table) throws SQLException {
    return scalar(db, "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-')"
        + " FROM ONLY " + table + " t");
  }

  private static Map<String, String> digests(String db) throws SQLException {
    Map<String, String> out = new TreeMap<>();
    for (String t : tables(db)) {
      out.put(t, digest(db, quoted(t)));
    }
    return out;
  }

  private static void assertSameContent(String db, String table) throws SQLException {
    String expected = digest(source, table);
    assertThat(digest(db, table)).as(table + " in " + db).isEqualTo(expected);
  }

  private static String regclass(String table) {
    return "'" + table.replace("'", "''") + "'::regclass";
  }

  private static List<String> indexes(String db, String table) throws SQLException {
    return column(db, "SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index"
        + " WHERE indrelid = " + regclass(table) + " ORDER BY 1");
  }

  private static List<String> constraints(String db, String table) throws SQLException {
    return column(db, "SELECT conname || ' ' || contype::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
        + " WHERE conrelid = " + regclass(table) + " ORDER BY 1");
  }

  private static List<String> triggers(String db, String table) throws SQLException {
    return column(db, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = " + regclass(table)
        + " ORDER BY 1");
  }

  private static String policies(String db) throws SQLException {
    return String.join("\n", column(db, "SELECT schemaname || '.' || tablename || ' ' || policyname || ' '"
        + " || permissive || ' ' || roles::text || ' ' || cmd || ' ' || coalesce(qual, '') FROM pg_policies"
        + " ORDER BY 1"));
  }
}
