package io.pgfleet.it.support;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.config.FleetConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What the fault ITs share: an in-process fleet (coordinator and workers in this JVM) over a broker of the test's,
 * configured for one database of the test server as cluster {@code main}, its password (if any) given by file.
 */
public final class OneDatabaseFleet {
  private OneDatabaseFleet() {}

  /**
   * The configuration: the broker, a repository at {@code repo}, cluster {@code main} selecting {@code database},
   * and {@code settings} (the coordinator and worker sections, as YAML lines).
   */
  public static FleetConfig config(TestPostgres pg, Path dir, String bootstrapServers, Path repo, String database,
      String settings) throws IOException {
    return config(pg, dir, bootstrapServers, repo, database, "", "", settings);
  }

  /**
   * The same, with more entries for the kafka section and for the cluster (YAML flow entries, each starting with a
   * comma, such as {@code ", replication: 3"} or {@code ", limits: {maxTasks: 1}"}).
   */
  public static FleetConfig config(TestPostgres pg, Path dir, String bootstrapServers, Path repo, String database,
      String kafka, String cluster, String settings) throws IOException {
    return FleetConfigLoader.parse(yaml(pg, dir, bootstrapServers, repo, database, kafka, cluster, settings), dir);
  }

  /** The configuration's text, for a fleet process started from the built jar. */
  public static String yaml(TestPostgres pg, Path dir, String bootstrapServers, Path repo, String database,
      String kafka, String cluster, String settings) throws IOException {
    Path password = dir.resolve("pw-" + database);
    Files.writeString(password, pg.password().orElse(""));
    return "kafka: {bootstrapServers: '" + bootstrapServers + "', taskPartitions: 4" + kafka + "}\n"
        + "repository: {url: " + repo + "}\n"
        + "clusters:\n"
        + "  - {name: main, host: " + pg.host() + ", port: " + pg.port() + ", user: " + pg.user()
        + (pg.password().isPresent() ? ", password: {file: " + password + "}" : "")
        + ", databases: {include: ['" + database + "']}" + cluster + "}\n"
        + settings;
  }

  /** A coordinator and {@code workers} workers, with the fault tests' timeouts. */
  public static FleetProcess.Options options(int workers, String instance) {
    return new FleetProcess.Options(true, workers, "it", Duration.ofSeconds(90), Duration.ofSeconds(6), instance);
  }

  /** Waits until the process's coordinator leads, then for the workers' heartbeats to reach it. */
  public static void awaitLeader(FleetProcess p) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 30_000;
    while (!p.coordinator().leader() && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    assertThat(p.coordinator().leader()).as("the coordinator leads").isTrue();
    Thread.sleep(2500);
  }

  /** Asks for a backup of the database now; returns the run's id. */
  public static String backupNow(FleetProcess p, String database) throws Exception {
    return p.coordinator().backupNow("main", database).toCompletionStage().toCompletableFuture().get().runId();
  }

  /**
   * Restores the repository's latest backup into {@code target} (dropped first, if it exists) with the CLI, and
   * checks that it equals {@code source}.
   */
  public static void restoreLatestAndCompare(TestPostgres pg, Path repo, String source, String target)
      throws Exception {
    pg.dropDatabase(target);
    Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", "latest", "--target", pg.url(target));
    assertThat(r.exitCode()).as(r.err()).isZero();
    DatabaseComparison.compare(pg, source, target).assertEqual();
  }
}
