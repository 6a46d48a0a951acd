package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgfleet.common.pg.PgTools;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.PgServers;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A mixed fleet: servers of several majors (12, 13 and 17 from zonky's bundles, plus the shared test server, 15
 * here), backed up and restored with the client tools a worker would find.
 *
 * <p>With only the system's client (pg_dump 15 here) every server up to its major backs up and restores, and a
 * newer server fails the backup with one line naming the server's major, the pg_dump found and what to install.
 * With only a newer client ({@code PGFLEET_TEST_PG_BIN_NEWER}: pg_dump 18 built by {@code .ci/pg-client.sh}) every
 * major backs up and restores, including restores by pg_restore 18 into servers older than 17. The tool search is
 * pinned to exactly one directory per case ({@link PgTools#DIRS_PROPERTY}, {@link PgTools#DEFAULTS_PROPERTY}), so
 * other clients installed on the machine change nothing.
 */
class MixedVersionsIT {
  /** The bin directory of a client newer than every server here; .ci/run builds one. */
  static final String NEWER_BIN_ENV = "PGFLEET_TEST_PG_BIN_NEWER";
  private static final int[] ZONKY_MAJORS = {12, 13, 17};
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)");
  private static final TestPostgres SHARED = TestPostgres.get();
  private static final PgServers SERVERS = new PgServers();
  private static final Map<Integer, TestPostgres> SERVER = new TreeMap<>();
  private static final Map<Integer, String> SOURCE = new TreeMap<>();
  private static final List<String> SHARED_DBS = new ArrayList<>();
  @TempDir
  static Path repo;

  @BeforeAll
  static void startServersAndLoadTheFixture() throws Exception {
    int sharedMajor = serverMajor(SHARED);
    SERVER.put(sharedMajor, SHARED);
    for (int major : ZONKY_MAJORS) {
      if (major != sharedMajor) {
        SERVER.put(major, SERVERS.start(major));
      }
    }
    for (Map.Entry<Integer, TestPostgres> e : SERVER.entrySet()) {
      String db = newDatabase(e.getValue(), "mv_src_" + e.getKey());
      try (Connection c = e.getValue().connect(db); Statement st = c.createStatement()) {
        st.execute(fixture(e.getKey()));
      }
      assertThat(serverMajor(e.getValue())).isEqualTo(e.getKey());
      SOURCE.put(e.getKey(), db);
    }
  }

  /**
   * The traps fixture of {@link TrapsRoundTripIT}; numeric infinities exist from 14 on, so older servers get NaN in
   * those two cells (each replacement must hit, so a change to the fixture fails here rather than going unseen).
   */
  private static String fixture(int major) throws Exception {
    String sql;
    try (var in = MixedVersionsIT.class.getClassLoader().getResourceAsStream("fixture/traps.sql")) {
      sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (major < 14) {
      for (String inf : List.of("'Infinity'", "'-Infinity'")) {
        String row = "(" + (inf.startsWith("'-") ? 3 : 2) + ", " + inf + ", " + inf + ", " + inf + ",";
        assertThat(sql).as("fixture/traps.sql row").contains(row);
        sql = sql.replace(row, row.substring(0, row.length() - inf.length() - 1) + "'NaN',");
      }
    }
    return sql;
  }

  @AfterAll
  static void dropDatabasesAndStopServers() throws Exception {
    try {
      for (String db : SHARED_DBS) {
        SHARED.dropDatabase(db);
      }
    } finally {
      SERVERS.close();
    }
  }

  static Stream<Integer> majors() {
    return SERVER.keySet().stream();
  }

  @ParameterizedTest(name = "PostgreSQL {0}")
  @MethodSource("majors")
  void withOnlyTheSystemClientOlderServersRoundTripAndNewerOnesAreNamed(int major) throws Exception {
    Path bin = systemBin();
    assumeTrue(Files.isExecutable(bin.resolve("pg_dump")), "no system client in " + bin);
    int client = clientMajor(bin);
    if (major <= client) {
      roundTrip(major, bin, client);
      return;
    }
    TestPostgres pg = SERVER.get(major);
    String db = SOURCE.get(major);
    Cli.Result b = withTools(bin, () -> backup(pg, db));
    assertThat(b.exitCode()).as(b.err()).isEqualTo(1);
    assertThat(b.out()).isEmpty();
    // The schema and globals tasks run at once and both lack their tool: whichever fails first names the run's cause.
    String failed = "pgfleet: error: backup of postgres@127.0.0.1:" + pg.port() + "/" + db
        + " failed, no backup was written: ";
    String install = " server: found " + client + " (%s); install the PostgreSQL " + major
        + " client (e.g. postgresql-client-" + major + ") or list its bin directory in PGFLEET_PG_BIN_DIRS";
    assertThat(b.errorLines()).hasSize(1);
    assertThat(b.errorLines().get(0)).satisfiesAnyOf(
        l -> assertThat(l).isEqualTo(failed + "schema of " + db + " failed: no pg_dump for a PostgreSQL " + major
            + String.format(install, bin.resolve("pg_dump"))),
        l -> assertThat(l).startsWith(failed + "globals of cluster ").endsWith(" failed: no pg_dumpall for a"
            + " PostgreSQL " + major + String.format(install, bin.resolve("pg_dumpall"))));
    assertThat(b.err()).doesNotContain("Exception", "\tat ");
    try (Stream<Path> s = Files.walk(repo)) {
      assertThat(s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> p.toString().contains("/" + db + "/"))).isEmpty();
    }
  }

  @ParameterizedTest(name = "PostgreSQL {0}")
  @MethodSource("majors")
  void withANewerClientEveryMajorRoundTrips(int major) throws Exception {
    Optional<Path> newer = Optional.ofNullable(System.getenv(NEWER_BIN_ENV)).filter(s -> !s.isBlank()).map(Path::of);
    assumeTrue(newer.isPresent(), NEWER_BIN_ENV + " is not set: no pg_dump newer than the servers here to test"
        + " with (.ci/run builds one with .ci/pg-client.sh and sets it)");
    Path bin = newer.get();
    assertThat(bin.resolve("pg_dump")).as(NEWER_BIN_ENV + " must name a bin directory with pg_dump").isExecutable();
    int client = clientMajor(bin);
    assertThat(client).as("the client in " + NEWER_BIN_ENV).isGreaterThanOrEqualTo(SERVER.keySet().stream()
        .mapToInt(Integer::intValue).max().orElseThrow());
    roundTrip(major, bin, client);
  }

  /**
   * Tables split into chunks on every major the system client can dump: by ctid ranges from 14 on, by ranges of a
   * single-column integer primary key before (no TID range scan there), and not at all, with a note, for a table
   * without one. The restore must give the same content either way.
   */
  @ParameterizedTest(name = "PostgreSQL {0}")
  @MethodSource("majors")
  void tablesAreSplitOnEveryMajor(int major) throws Exception {
    Path bin = systemBin();
    assumeTrue(Files.isExecutable(bin.resolve("pg_dump")), "no system client in " + bin);
    assumeTrue(major <= clientMajor(bin), "the system client cannot dump PostgreSQL " + major);
    TestPostgres pg = SERVER.get(major);
    String source = SOURCE.get(major);
    Cli.Result b = withTools(bin, () -> Cli.run("backup", pg.url(source), "--repo", repo.toString(), "--workers",
        "2", "--kafka", TestKafka.bootstrapServers(), "--split-threshold", "16kB", "--chunk-size", "8kB"));
    assertThat(b.exitCode()).as(b.err()).isZero();
    if (major >= 14) {
      assertThat(b.err()).containsPattern("pgfleet: plan: table \"bank\"\\.\"accounts\" \\(~\\d+ kB of COPY text\\)"
          + " split into \\d+ chunks by ctid range");
    } else {
      assertThat(b.err()).containsPattern("pgfleet: plan: table \"bank\"\\.\"accounts\" \\(~\\d+ kB\\) split into"
          + " \\d+ chunks by ranges of its key id: PostgreSQL " + major + " has no TID range scan");
      assertThat(b.err()).contains("not split: PostgreSQL " + major + " has no TID range scan (14+) and the table has"
          + " no single-column integer primary key to split on");
    }
    String backupId = b.out().trim();
    String target = newDatabaseName(pg, "mv_split_" + major);
    Cli.Result r = withTools(bin, () -> Cli.run("restore", "--repo", repo.toString(), "--backup", backupId,
        "--target", pg.url(target), "--jobs", "2"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    DatabaseComparison.compare(pg, source, target, comparingPgDump(major, bin)).assertEqual();
  }

  /** Backup, the archive made by the expected pg_dump, restore into a new database, the same content. */
  private static void roundTrip(int major, Path bin, int client) throws Exception {
    TestPostgres pg = SERVER.get(major);
    String source = SOURCE.get(major);
    Cli.Result b = withTools(bin, () -> backup(pg, source));
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();

    String toc = run(bin.resolve("pg_restore").toString(), "--list", schemaArchive(backupId).toString());
    assertThat(toc).containsPattern("Dumped from database version: " + major + "\\.")
        .containsPattern("Dumped by pg_dump version: " + client + "\\.");

    String target = newDatabaseName(pg, "mv_dst_" + major);
    Cli.Result r = withTools(bin, () -> Cli.run("restore", "--repo", repo.toString(), "--backup", backupId,
        "--target", pg.url(target), "--jobs", "2"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    DatabaseComparison.compare(pg, source, target, comparingPgDump(major, bin)).assertEqual();
  }

  /**
   * The system's pg_dump where it can dump the server, else the newer one. A newer pg_dump also prints column
   * options that a distribution's own server and pg_dump keep to themselves: Debian's 15.20 here sets a
   * per-database {@code pg_attver} option on every column, which its pg_dump 15 skips and pg_dump 18 prints, with
   * values that differ between any two databases.
   */
  private static Path comparingPgDump(int major, Path bin) throws Exception {
    Path system = systemBin();
    return Files.isExecutable(system.resolve("pg_dump")) && major <= clientMajor(system)
        ? system.resolve("pg_dump") : bin.resolve("pg_dump");
  }

  /** The client of the shared server's major, as Debian installs it. */
  private static Path systemBin() throws Exception {
    return Path.of("/usr/lib/postgresql/" + serverMajor(SHARED) + "/bin");
  }

  private static Cli.Result backup(TestPostgres pg, String db) {
    return Cli.run("backup", pg.url(db), "--repo", repo.toString(), "--workers", "2", "--kafka",
        TestKafka.bootstrapServers());
  }

  /** pgfleet finds its tools in exactly this directory while {@code command} runs in this JVM. */
  private static Cli.Result withTools(Path bin, Supplier<Cli.Result> command) {
    System.setProperty(PgTools.DIRS_PROPERTY, bin.toString());
    System.setProperty(PgTools.DEFAULTS_PROPERTY, "false");
    try {
      return command.get();
    } finally {
      System.clearProperty(PgTools.DIRS_PROPERTY);
      System.clearProperty(PgTools.DEFAULTS_PROPERTY);
    }
  }

  private static Path schemaArchive(String backupId) throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getParent().getFileName().toString().equals(backupId))
          .filter(p -> p.getFileName().toString().matches("schema\\.[0-9a-f]{8}\\.dump")).findFirst().orElseThrow();
    }
  }

  /** Plain CREATE DATABASE: {@link TestPostgres#createDatabase} drops WITH (FORCE) first, which 12 lacks. */
  private static String newDatabase(TestPostgres pg, String prefix) throws Exception {
    String db = newDatabaseName(pg, prefix);
    try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE \"" + db + "\" TEMPLATE template0 ENCODING 'UTF8'");
    }
    return db;
  }

  /** A fresh name; on the shared server it is dropped after the class (the other servers are thrown away). */
  private static String newDatabaseName(TestPostgres pg, String prefix) {
    String db = pg.uniqueDbName(prefix);
    if (pg == SHARED) {
      SHARED_DBS.add(db);
    }
    return db;
  }

  private static int serverMajor(TestPostgres pg) throws Exception {
    try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int / 10000")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static int clientMajor(Path bin) throws Exception {
    String v = run(bin.resolve("pg_dump").toString(), "--version");
    Matcher m = VERSION.matcher(v);
    assertThat(m.find()).as(v).isTrue();
    return Integer.parseInt(m.group(1));
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
    return out;
  }
}
