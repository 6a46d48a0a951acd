package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.PasswordPostgres;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input gets one clear line naming the problem, a non-zero exit, no stack trace, and no manifest: each case
 * runs the real command. These fail before any broker starts, so they are quick.
 */
class BadInputIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static String db;
  @TempDir
  static Path tmp;

  @BeforeAll
  static void setUp() throws Exception {
    db = PG.uniqueDbName("badinput");
    PG.createDatabase(db);
    try (var c = PG.connect(db); var st = c.createStatement()) {
      st.execute("CREATE TABLE t(id int primary key); INSERT INTO t VALUES (1)");
    }
  }

  @AfterAll
  static void tearDown() throws Exception {
    PG.dropDatabase(db);
  }

  static Stream<Arguments> cases() {
    String repo = "@REPO@";
    return Stream.of(
        Arguments.of("not a postgres URL", new String[] {"backup", "mysql://root@127.0.0.1/x", "--repo", repo},
            "must start with postgresql://"),
        Arguments.of("port out of range", new String[] {"backup", "postgresql://postgres@127.0.0.1:99999/x",
            "--repo", repo}, "port '99999'"),
        Arguments.of("nothing listens there", new String[] {"backup", "postgresql://postgres@127.0.0.1:1/x",
            "--repo", repo}, "cannot connect to PostgreSQL at 127.0.0.1:1"),
        Arguments.of("unknown host", new String[] {"backup", "postgresql://postgres@no-such-host.invalid/x",
            "--repo", repo}, "no-such-host.invalid"),
        Arguments.of("missing database", new String[] {"backup", "@URL:pgfleet_no_such_db@", "--repo", repo},
            "database 'pgfleet_no_such_db' does not exist"),
        Arguments.of("missing role", new String[] {"backup",
            "postgresql://pgfleet_no_such_role@127.0.0.1:5432/postgres", "--repo", repo}, "pgfleet_no_such_role"),
        Arguments.of("repository under a file", new String[] {"backup", "@URL@", "--repo", "@FILE@/repo"},
            "cannot be created"),
        Arguments.of("s3:// repository with credentials in the URL", new String[] {"backup", "@URL@", "--repo",
            "s3://AKIAEXAMPLE:pgfleetSecret@bucket/x"}, "credentials are never taken from it"),
        Arguments.of("malformed s3:// repository", new String[] {"list", "--repo", "s3://Not_A_Bucket!/x"},
            "is not a valid bucket name"),
        Arguments.of("unsupported repository scheme", new String[] {"list", "--repo", "azure://c/x"},
            "only local directories, gs://BUCKET/PREFIX and s3://BUCKET/PREFIX are supported"),
        Arguments.of("malformed gs:// repository", new String[] {"backup", "@URL@", "--repo",
            "gs://Not_A_Bucket!/x"}, "is not a valid bucket name"),
        Arguments.of("gs:// repository without a bucket", new String[] {"list", "--repo", "gs:///x"},
            "names no bucket"),
        Arguments.of("zero workers", new String[] {"backup", "@URL@", "--repo", repo, "--workers", "0"},
            "--workers 0 is out of range"),
        Arguments.of("bad cluster name", new String[] {"backup", "@URL@", "--repo", repo, "--cluster", "../x"},
            "is not a valid name"),
        Arguments.of("list of a missing repository", new String[] {"list", "--repo", "@TMP@/nope"}, "does not exist"),
        Arguments.of("malformed backup id", new String[] {"verify", "--repo", "@EMPTY@", "--backup", "yesterday"},
            "is not a backup id"),
        Arguments.of("unknown backup id", new String[] {"verify", "--repo", "@EMPTY@", "--backup",
            "20200101T000000Z-abcdef"}, "is not in repository"),
        Arguments.of("restore from an empty repository", new String[] {"restore", "--repo", "@EMPTY@", "--backup",
            "latest", "--target", "@URL@"}, "no backup in repository"),
        Arguments.of("zstd level out of range", new String[] {"backup", "@URL@", "--repo", repo, "--zstd-level",
            "25"}, "--zstd-level 25 is out of range"),
        Arguments.of("zero slots", new String[] {"backup", "@URL@", "--repo", repo, "--slots", "0"},
            "--slots 0 is out of range"),
        Arguments.of("a size without a unit", new String[] {"backup", "@URL@", "--repo", repo, "--split-threshold",
            "lots"}, "--split-threshold 'lots' is not a size"),
        Arguments.of("unknown archive format", new String[] {"backup", "@URL@", "--repo", repo, "--format", "tar"},
            "--format 'tar' is not one of"),
        Arguments.of("restore with zero jobs", new String[] {"restore", "--repo", "@EMPTY@", "--backup", "latest",
            "--target", "@URL@", "--jobs", "0"}, "--jobs 0 is out of range"),
        Arguments.of("restore data-only and schema-only", new String[] {"restore", "--repo", "@EMPTY@", "--backup",
            "latest", "--target", "@URL@", "-a", "-s"}, "exclude each other"),
        Arguments.of("restore --if-exists without --clean", new String[] {"restore", "--repo", "@EMPTY@",
            "--backup", "latest", "--target", "@URL@", "--if-exists"}, "only applies with --clean"),
        Arguments.of("restore target not a postgres URL", new String[] {"restore", "--repo", "@EMPTY@", "--backup",
            "latest", "--target", "mysql://x/y"}, "must start with postgresql://"),
        Arguments.of("restore-test sandbox not a postgres URL", new String[] {"restore-test", "--repo", "@EMPTY@",
            "--backup", "latest", "--sandbox", "mysql://x"}, "must start with postgresql://"),
        Arguments.of("retention policy that keeps nothing", new String[] {"retention", "--repo", "@EMPTY@",
            "--keep-last", "0"}, "keeps nothing"),
        Arguments.of("config: a wrong type", new String[] {"coordinator", "--config", "@CFG:port@"},
            "clusters[0].port: expected an integer, got 'many'"),
        Arguments.of("config: an unknown key", new String[] {"coordinator", "--config", "@CFG:unknown@"},
            "clusters[0].hots: unknown key"),
        Arguments.of("config: a bad cron", new String[] {"coordinator", "--config", "@CFG:cron@"},
            "clusters[0].schedule.cron:"),
        Arguments.of("config: a retention rule that keeps nothing", new String[] {"worker", "--config",
            "@CFG:retention@"}, "retention.rules[0].keepLast: the rule keeps nothing"),
        Arguments.of("config: an inline password", new String[] {"worker", "--config", "@CFG:password@"},
            "clusters[0].password: an inline password is refused"));
  }

  /** Configuration files the config cases name as {@code @CFG:key@}: each holds exactly one problem. */
  private static final java.util.Map<String, String> CONFIGS = java.util.Map.of(
      "port", "clusters: [{name: a, host: h, user: u, port: many}]\n",
      "unknown", "clusters: [{name: a, host: h, user: u, hots: x}]\n",
      "cron", "clusters: [{name: a, host: h, user: u, schedule: {cron: '0 25 * * *'}}]\n",
      "retention", "clusters: [{name: a, host: h, user: u}]\nretention: {rules: [{match: '*'}]}\n",
      "password", "clusters: [{name: a, host: h, user: u, password: Pa55word-Inline}]\n");

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void refusedWithOneClearLine(String name, String[] template, String expected) throws Exception {
    Path repo = tmp.resolve("repo-" + Math.abs(name.hashCode()));
    Path file = tmp.resolve("a-file");
    Files.writeString(file, "x");
    Path empty = Files.createDirectories(tmp.resolve("empty-repo"));
    for (var cfg : CONFIGS.entrySet()) {
      Files.writeString(tmp.resolve("cfg-" + cfg.getKey() + ".yaml"), "repository: {url: " + tmp.resolve("cfg-repo")
          + "}\n" + cfg.getValue());
    }
    String[] args = Stream.of(template).map(a -> a.startsWith("@CFG:")
        ? tmp.resolve("cfg-" + a.substring(5, a.length() - 1) + ".yaml").toString() : a)
        .map(a -> a.replace("@REPO@", repo.toString())
        .replace("@FILE@", file.toString()).replace("@TMP@", tmp.toString()).replace("@EMPTY@", empty.toString())
        .replace("@URL:pgfleet_no_such_db@", PG.url("pgfleet_no_such_db"))
        .replace("@URL@", PG.url(db))).toArray(String[]::new);
    Cli.Result r = Cli.run(args);
    assertOneLineError(r, expected);
    assertThat(r.out() + r.err()).as("an inline secret is never echoed").doesNotContain("Pa55word-Inline");
    // Repositories of the other tests in this class may hold real backups; no case here may add one.
    assertNoManifest(tmp, "nonempty-repo", "pw-repo");
  }

  @Test
  void wrongPasswordIsNamedAndNeverEchoed() throws Exception {
    var bin = PasswordPostgres.findBinDir();
    assumeTrue(bin.isPresent(), "no initdb under /usr/lib/postgresql: cannot start a password-checking server");
    try (PasswordPostgres pg = PasswordPostgres.start(bin.get())) {
      String wrong = "Wr0ng-pa55word";
      Path repo = tmp.resolve("pw-repo");
      Cli.Result r = Cli.run("backup", "postgresql://postgres:" + wrong + "@127.0.0.1:" + pg.port() + "/postgres",
          "--repo", repo.toString());
      assertOneLineError(r, "password authentication failed for user 'postgres'");
      assertThat(r.out() + r.err()).doesNotContain(wrong);
      assertNoManifest(repo);

      // The right password gets past the same check (the backup itself then runs).
      Cli.Result ok = Cli.run("backup", "postgresql://postgres:" + PasswordPostgres.PASSWORD + "@127.0.0.1:"
          + pg.port() + "/postgres", "--repo", repo.toString(), "--workers", "1");
      assertThat(ok.exitCode()).as(ok.err()).isZero();
      assertThat(ok.out() + ok.err()).doesNotContain(PasswordPostgres.PASSWORD);
    }
  }

  @Test
  void restoreRefusesANonEmptyTarget() throws Exception {
    Path repo = tmp.resolve("nonempty-repo");
    Cli.Result b = Cli.run("backup", PG.url(db), "--repo", repo.toString(), "--workers", "1",
        "--kafka", io.pgfleet.it.support.TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    // Into the database the backup came from: refused as such, whatever it holds.
    Cli.Result source = Cli.run("restore", "--repo", repo.toString(), "--backup", "latest", "--target", PG.url(db));
    assertOneLineError(source, "is the database backup");
    assertThat(source.errorLines().get(0)).contains("--into-source");
    // Into another database that has a table: refused as not empty.
    String other = PG.uniqueDbName("nonempty_other");
    PG.createDatabase(other);
    try {
      try (java.sql.Connection c = PG.connect(other); java.sql.Statement st = c.createStatement()) {
        st.execute("CREATE TABLE already_here (id int)");
      }
      Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", "latest", "--target", PG.url(other));
      assertOneLineError(r, "target database '" + other + "'");
      assertThat(r.errorLines().get(0)).contains("is not empty");
    } finally {
      PG.dropDatabase(other);
    }
  }

  @Test
  void fleetCommandsRefuseABadConfigurationAndListEveryProblem() throws Exception {
    Cli.Result missing = Cli.run("coordinator", "--config", tmp.resolve("no-such.yaml").toString());
    assertOneLineError(missing, "no-such.yaml does not exist");

    Path noKafka = tmp.resolve("no-kafka.yaml");
    Files.writeString(noKafka, "repository: {url: " + tmp.resolve("r") + "}\n"
        + "clusters: [{name: a, host: 127.0.0.1, user: postgres}]\n");
    assertOneLineError(Cli.run("worker", "--config", noKafka.toString()), "kafka.bootstrapServers is not set");

    Path unset = tmp.resolve("unset-secret.yaml");
    Files.writeString(unset, "kafka: {bootstrapServers: '127.0.0.1:1'}\n"
        + "repository: {url: " + tmp.resolve("r") + "}\n"
        + "clusters: [{name: a, host: 127.0.0.1, user: postgres, password: {env: PGFLEET_IT_NO_SUCH_VARIABLE}}]\n");
    assertOneLineError(Cli.run("worker", "--config", unset.toString()),
        "clusters[0].password: environment variable PGFLEET_IT_NO_SUCH_VARIABLE is not set");

    Path bad = tmp.resolve("bad.yaml");
    String secret = "Sup3r-Secret-Pw";
    Files.writeString(bad, "repository: {url: " + tmp.resolve("r") + "}\n"
        + "clusters:\n"
        + "  - {name: a, host: 127.0.0.1, user: postgres, password: " + secret + "}\n"
        + "  - {name: b, host: 127.0.0.1, user: postgres, schedule: {cron: '0 25 * * *'}}\n"
        + "  - {name: c, host: 127.0.0.1, user: postgres, pasword: x}\n");
    Cli.Result r = Cli.run("standalone", "--config", bad.toString());
    assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).contains("has 3 problems").contains("clusters[0].password: an inline password is refused")
        .contains("clusters[1].schedule.cron:").contains("clusters[2].pasword: unknown key")
        .doesNotContain(secret).doesNotContain("\tat ");
  }

  private static void assertOneLineError(Cli.Result r, String expected) {
    assertThat(r.exitCode()).as(r.err()).isNotZero();
    assertThat(r.errorLines()).as(r.err()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains(expected);
    assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception in thread");
  }

  private static void assertNoManifest(Path dir, String... except) throws Exception {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      assertThat(s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> Stream.of(except).noneMatch(e -> p.toString().contains("/" + e + "/")))).isEmpty();
    }
  }
}
