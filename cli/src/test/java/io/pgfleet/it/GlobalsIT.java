package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgfleet.it.support.BackupFiles;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every backup carries its cluster's globals (pg_dumpall --globals-only, without passwords), and
 * {@code restore --with-globals} brings back the roles a database needs on a server that lacks them: a role that
 * owns a table comes back with its attributes, setting, comment and membership, owns the table again and the
 * grant is back; a role that exists is left as it is.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GlobalsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  private static final String SUFFIX = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
  private static final String OWNER = "pgfleet_it_owner_" + SUFFIX;
  private static final String GROUP = "pgfleet_it_group_" + SUFFIX;
  private static final String READER = "pgfleet_it_reader_" + SUFFIX;
  private static final String PASSWORD = "it-secret-" + SUFFIX;
  private static final List<String> DATABASES = new ArrayList<>();
  private static String source;
  private static String backupId;
  @TempDir
  static Path repo;

  @BeforeAll
  static void backup() throws Exception {
    source = db("glob_src");
    PG.createDatabase(source);
    exec("postgres", "CREATE ROLE " + GROUP + " NOLOGIN",
        "CREATE ROLE " + OWNER + " LOGIN CREATEDB CONNECTION LIMIT 7 PASSWORD '" + PASSWORD + "'",
        "ALTER ROLE " + OWNER + " SET work_mem = '8MB'",
        "COMMENT ON ROLE " + OWNER + " IS 'owns the things'",
        "GRANT " + GROUP + " TO " + OWNER,
        "CREATE ROLE " + READER + " NOLOGIN");
    exec(source, "CREATE TABLE things (id int PRIMARY KEY, name text)",
        "INSERT INTO things SELECT g, 'thing ' || g FROM generate_series(1, 100) g",
        "ALTER TABLE things OWNER TO " + OWNER,
        "GRANT SELECT ON things TO " + READER);
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    backupId = b.out().trim();
  }

  @AfterAll
  static void cleanUp() throws Exception {
    for (String d : DATABASES) {
      PG.dropDatabase(d);
    }
    for (String role : List.of(OWNER, READER, GROUP)) {
      try (Connection c = PG.connect("postgres"); Statement st = c.createStatement()) {
        if (scalar("postgres", "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'").equals("1")) {
          st.execute("DROP OWNED BY " + role);
          st.execute("DROP ROLE " + role);
        }
      }
    }
  }

  @Test
  @Order(1)
  void theManifestNamesTheGlobalsWhichHoldTheRolesButNoPassword() throws Exception {
    JsonNode globals = JSON.readTree(manifest().toFile()).get("globals");
    assertThat(globals.get("kind").asText()).isEqualTo("globals");
    assertThat(globals.get("key").asText()).matches("globals\\.[0-9a-f]{8}\\.sql");
    assertThat(globals.get("sha256").asText()).matches("[0-9a-f]{64}");
    String sql = Files.readString(manifest().resolveSibling(globals.get("key").asText()));
    assertThat(sql).contains("CREATE ROLE " + OWNER + ";", "CREATE ROLE " + READER + ";",
        "GRANT " + GROUP + " TO " + OWNER);
    assertThat(sql).doesNotContain("SCRAM-SHA-256", "md5", PASSWORD, "PASSWORD");

    Cli.Result v = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId);
    assertThat(v.exitCode()).as(v.err()).isZero();
    int artifacts = JSON.readTree(manifest().toFile()).get("data").size() + 2;
    assertThat(v.out()).contains("OK: " + artifacts + " artifacts");
    String guide = Files.readString(manifest().resolveSibling("RESTORE.md"));
    assertThat(guide).contains(globals.get("sha256").asText() + "  " + globals.get("key").asText(),
        "psql -X -d postgres -f " + globals.get("key").asText());
    Cli.Result show = Cli.run("show", "--repo", repo.toString(), "--backup", backupId);
    assertThat(show.out()).contains("globals   " + globals.get("key").asText());
  }

  /** The roles go away with the database, as on a new server; the reader stays, changed since the backup. */
  @Test
  @Order(2)
  void withoutGlobalsAMissingOwnerFailsTheRestore() throws Exception {
    PG.dropDatabase(source);
    exec("postgres", "DROP ROLE " + OWNER, "DROP ROLE " + GROUP, "ALTER ROLE " + READER + " CONNECTION LIMIT 3");

    Cli.Result r = restore(db("glob_plain"));
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("role \"" + OWNER + "\" does not exist");
  }

  @Test
  @Order(3)
  void withGlobalsARoleThatOwnsATableComesBack() throws Exception {
    String target = db("glob_with");
    Cli.Result r = restore(target, "--with-globals");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("pgfleet: note: globals: created roles ")
        .containsPattern("created roles [^;]*" + GROUP)
        .containsPattern("created roles [^;]*" + OWNER)
        .containsPattern("left unchanged: [^;]*" + READER);

    String role = "SELECT rolcanlogin || ' ' || rolcreatedb || ' ' || rolsuper || ' ' || rolconnlimit"
        + " FROM pg_roles WHERE rolname = '" + OWNER + "'";
    assertThat(scalar(target, role)).isEqualTo("true true false 7");
    assertThat(scalar(target, "SELECT (rolpassword IS NULL)::text FROM pg_authid WHERE rolname = '" + OWNER + "'"))
        .isEqualTo("true");
    assertThat(scalar(target, "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s"
        + " JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = '" + OWNER + "' AND s.setdatabase = 0"))
        .isEqualTo("work_mem=8MB");
    assertThat(scalar(target, "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '"
        + OWNER + "'")).isEqualTo("owns the things");
    assertThat(scalar(target, "SELECT pg_has_role('" + OWNER + "', '" + GROUP + "', 'MEMBER')::text")).isEqualTo("true");
    // an existing role is not changed: its connection limit stays what it is now, not what the backup says
    assertThat(scalar(target, "SELECT rolconnlimit FROM pg_roles WHERE rolname = '" + READER + "'")).isEqualTo("3");

    assertThat(scalar(target, "SELECT tableowner FROM pg_tables WHERE tablename = 'things'")).isEqualTo(OWNER);
    assertThat(scalar(target, "SELECT has_table_privilege('" + READER + "', 'public.things', 'SELECT')::text"))
        .isEqualTo("true");
    assertThat(scalar(target, "SELECT count(*) || ' ' || sum(id) FROM things")).isEqualTo("100 5050");
  }

  @Test
  @Order(4)
  void withGlobalsWhereEveryRoleExistsCreatesNothing() throws Exception {
    String target = db("glob_again");
    Cli.Result r = restore(target, "--with-globals");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("pgfleet: note: globals: created no role;")
        .containsPattern("left unchanged: [^;]*" + OWNER);
    assertThat(scalar(target, "SELECT tableowner FROM pg_tables WHERE tablename = 'things'")).isEqualTo(OWNER);
  }

  @Test
  @Order(5)
  void aCorruptGlobalsArtifactIsNamedByVerifyAndRestore() throws Exception {
    String key = JSON.readTree(manifest().toFile()).get("globals").get("key").asText();
    BackupFiles.flipMiddleByte(manifest().resolveSibling(key));
    Cli.Result v = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId);
    assertThat(v.exitCode()).isEqualTo(1);
    assertThat(v.err()).contains(key).contains("SHA-256");

    Cli.Result r = restore(db("glob_bad"), "--with-globals");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains(key).contains("corrupt");
  }

  private static Cli.Result restore(String target, String... extra) {
    List<String> args = new ArrayList<>(List.of("restore", "--repo", repo.toString(), "--backup", backupId,
        "--target", PG.url(target)));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(String[]::new));
  }

  private static String db(String prefix) {
    String name = PG.uniqueDbName(prefix);
    DATABASES.add(name);
    return name;
  }

  private static Path manifest() throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> p.getParent().getFileName().toString().equals(backupId)).findFirst().orElseThrow();
    }
  }

  private static void exec(String db, String... sql) throws SQLException {
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      for (String s : sql) {
        st.execute(s);
      }
    }
  }

  private static String scalar(String db, String sql) throws SQLException {
    try (Connection c = PG.connect(db); PreparedStatement ps = c.prepareStatement(sql);
         ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
