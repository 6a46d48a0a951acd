package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.fleet.FleetSetup;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.coordinator.api.FleetApi.DatabaseView;
import io.pgfleet.coordinator.api.FleetApi.RunView;
import io.pgfleet.it.support.TestPostgres;
import io.vertx.core.Future;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet dashboard end to end: an in-process fleet with a healthy database (backed up, restore-tested) and a
 * failing one (a backup of a database that does not exist), then headless Chromium, driven by playwright-core
 * ({@code src/test/e2e/dashboard.mjs}), opens the page the coordinator serves and checks what a person would see:
 * the healthy row green with its last backup, the failing row red, the healthy database's history with its backup.
 * Screenshots land in {@code target/screenshots/}.
 *
 * <p>Needs Node.js and Debian's Chromium ({@code .ci/run} installs both); without them the test fails, saying so,
 * unless {@code PGFLEET_SKIP_BROWSER_TESTS=1}.
 */
class DashboardIT {
  private static final TestPostgres PG = TestPostgres.get();
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path E2E_SOURCES = Path.of("src", "test", "e2e");
  private static final Path E2E_HOME = Path.of("target", "e2e-node");
  private static final Path SCREENSHOTS = Path.of("target", "screenshots");
  private static final List<String> E2E_FILES = List.of("package.json", "package-lock.json", "dashboard.mjs");
  private static final String CLUSTER = "dash";
  private static final long SCRIPT_TIMEOUT_SECONDS = 120;

  @TempDir
  Path dir;

  @BeforeAll
  static void browserIsThere() throws Exception {
    Assumptions.assumeFalse("1".equals(System.getenv("PGFLEET_SKIP_BROWSER_TESTS")),
        "DashboardIT skipped: PGFLEET_SKIP_BROWSER_TESTS=1");
    if (!Files.isExecutable(CHROMIUM) || onPath("node") == null || onPath("npm") == null) {
      fail("DashboardIT needs " + CHROMIUM + ", node and npm (missing: "
          + (Files.isExecutable(CHROMIUM) ? "" : CHROMIUM + " ") + (onPath("node") == null ? "node " : "")
          + (onPath("npm") == null ? "npm" : "").strip() + "): run .ci/run, which installs them"
          + " (or set PGFLEET_SKIP_BROWSER_TESTS=1 to skip browser tests)");
    }
    installPlaywright();
  }

  @Test
  void theFleetViewShowsAHealthyDatabaseGreenAndAFailingOneRedAndTheHistoryListsTheBackup() throws Exception {
    String healthy = PG.uniqueDbName("dash_ok");
    String missing = "dash_missing_" + UUID.randomUUID().toString().substring(0, 8);
    PG.createDatabase(healthy);
    try {
      try (var c = PG.connect(healthy); var st = c.createStatement()) {
        st.execute("CREATE TABLE orders (id int PRIMARY KEY, note text);"
            + " INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 5000) g");
      }
      String token = "dash-" + UUID.randomUUID();
      Path tokenFile = dir.resolve("api-token");
      Files.writeString(tokenFile, token);
      String password = "";
      if (PG.password().isPresent()) {
        Files.writeString(dir.resolve("pg-password"), PG.password().get());
        password = ", password: {file: " + dir.resolve("pg-password") + "}";
      }
      String server = "host: " + PG.host() + ", port: " + PG.port() + ", user: " + PG.user() + password;
      Path repo = dir.resolve("repo");
      Path yaml = dir.resolve("fleet.yaml");
      // No kafka: the fleet runs on its embedded broker. No schedule: backups only when asked, below.
      Files.writeString(yaml, "repository: {url: " + repo + "}\n"
          + "clusters:\n"
          + "  - {name: " + CLUSTER + ", " + server + ", databases: {include: ['" + healthy + "']}}\n"
          + "coordinator:\n"
          + "  http: {host: 127.0.0.1, port: 0}\n"
          + "  apiToken: {file: " + tokenFile + "}\n"
          + "worker: {slots: 2}\n"
          + "restoreTests:\n"
          + "  sandbox: {" + server + ", scratchPrefix: dashit_}\n"
          + "  include: ['" + CLUSTER + "/*']\n"
          + "  timeout: 2m\n");
      FleetConfig config = FleetSetup.load(yaml);
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(repo),
          new FleetProcess.Options(true, 1, "it", Duration.ofSeconds(60), Duration.ofSeconds(10), "dashboard-it"))) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!fleet.coordinator().leader() && System.currentTimeMillis() < deadline) {
          Thread.sleep(100);
        }
        assertThat(fleet.coordinator().leader()).as("the coordinator leads").isTrue();

        String good = get(fleet.coordinator().backupNow(CLUSTER, healthy)).runId();
        String bad = get(fleet.coordinator().backupNow(CLUSTER, missing)).runId();
        RunView goodRun = awaitRun(fleet, good, r -> !r.state().equals("QUEUED") && !r.state().equals("RUNNING"));
        assertThat(goodRun.state()).as("the healthy database's run (%s)", goodRun.reason()).isEqualTo("COMPLETED");
        RunView badRun = awaitRun(fleet, bad, r -> r.state().equals("FAILED"));
        assertThat(badRun.reason()).isNotBlank();
        // Green needs a passed restore test too: the first completed backup after start is always tested.
        awaitDatabase(fleet, healthy, d -> d.lastRestoreTestAt() != null);

        runBrowser(fleet.apiPort(), token, CLUSTER + "/" + healthy, CLUSTER + "/" + missing);
      }
      assertThat(SCREENSHOTS.resolve("fleet.png")).isNotEmptyFile();
      assertThat(SCREENSHOTS.resolve("history.png")).isNotEmptyFile();
    } finally {
      PG.dropDatabase(healthy);
    }
  }

  private static void runBrowser(int port, String token, String healthy, String failing) throws Exception {
    Files.createDirectories(SCREENSHOTS);
    Path output = E2E_HOME.resolve("dashboard.log");
    ProcessBuilder pb = new ProcessBuilder("node", "dashboard.mjs").directory(E2E_HOME.toFile())
        .redirectErrorStream(true).redirectOutput(output.toFile());
    Map<String, String> env = pb.environment();
    env.put("DASHBOARD_URL", "http://127.0.0.1:" + port + "/dashboard/");
    env.put("DASHBOARD_TOKEN", token);
    env.put("HEALTHY", healthy);
    env.put("FAILING", failing);
    env.put("SCREENSHOTS", SCREENSHOTS.toAbsolutePath().toString());
    env.put("CHROMIUM", CHROMIUM.toString());
    Process p = pb.start();
    boolean ended = p.waitFor(SCRIPT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (!ended) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String log = Files.readString(output, StandardCharsets.UTF_8);
    System.out.println(log);
    if (!ended) {
      fail("the dashboard script did not finish within " + SCRIPT_TIMEOUT_SECONDS + " s; its output:\n" + log);
    }
    if (p.exitValue() != 0) {
      fail("the dashboard script failed (exit " + p.exitValue() + "); its output:\n" + log);
    }
  }

  /**
   * playwright-core into target/e2e-node, from the committed lock file, once per build directory: the package files
   * are copied there first so nothing is written under src/.
   */
  private static void installPlaywright() throws Exception {
    Files.createDirectories(E2E_HOME);
    boolean lockChanged = !Files.exists(E2E_HOME.resolve("package-lock.json"))
        || Files.mismatch(E2E_SOURCES.resolve("package-lock.json"), E2E_HOME.resolve("package-lock.json")) != -1;
    for (String f : E2E_FILES) {
      Files.copy(E2E_SOURCES.resolve(f), E2E_HOME.resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }
    if (!lockChanged && Files.isDirectory(E2E_HOME.resolve("node_modules/playwright-core"))) {
      return;
    }
    Path output = E2E_HOME.resolve("npm-ci.log");
    Process p = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(E2E_HOME.toFile())
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("npm ci in " + E2E_HOME + " did not finish within 300 s; see " + output);
    }
    if (p.exitValue() != 0) {
      fail("npm ci in " + E2E_HOME + " failed (exit " + p.exitValue() + "):\n" + Files.readString(output));
    }
  }

  private static RunView awaitRun(FleetProcess fleet, String runId, Predicate<RunView> done) throws Exception {
    long deadline = System.currentTimeMillis() + 90_000;
    RunView r = get(fleet.coordinator().run(runId));
    while (!done.test(r) && System.currentTimeMillis() < deadline) {
      Thread.sleep(200);
      r = get(fleet.coordinator().runs(50)).stream().filter(v -> v.runId().equals(runId)).findFirst().orElse(r);
    }
    assertThat(done.test(r)).as("run %s of %s/%s: %s %s", runId, r.cluster(), r.database(), r.state(), r.reason())
        .isTrue();
    return r;
  }

  private static void awaitDatabase(FleetProcess fleet, String db, Predicate<DatabaseView> done) throws Exception {
    long deadline = System.currentTimeMillis() + 120_000;
    while (System.currentTimeMillis() < deadline) {
      if (get(fleet.coordinator().databases(CLUSTER)).stream().anyMatch(d -> d.name().equals(db) && done.test(d))) {
        return;
      }
      Thread.sleep(250);
    }
    fail("database " + CLUSTER + "/" + db + " was not restore-tested within 120 s");
  }

  private static <T> T get(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Path onPath(String command) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(d, command);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
