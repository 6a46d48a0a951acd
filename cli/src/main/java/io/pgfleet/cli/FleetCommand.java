package io.pgfleet.cli;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.fleet.FleetSetup;
import io.pgfleet.common.config.ConfigException;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.storage.Storage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Option;

/** What the long-running commands share: the configuration file, start, wait for a signal, stop. */
abstract class FleetCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, paramLabel = "FILE",
      description = "The fleet's YAML configuration (docs/configuration.md).")
  Path config;

  @Option(names = "--silence-timeout", hidden = true, defaultValue = "90",
      description = "Seconds a running task may go unheard before it is published again.")
  int silenceSeconds;

  @Option(names = "--leader-session-timeout", hidden = true, defaultValue = "20",
      description = "Seconds a dead leader keeps the lead before another coordinator takes over.")
  int leaderSessionSeconds;

  @Option(names = "--instance-id", hidden = true, description = "The coordinator's name (default: host + random).")
  String instanceId;

  @Option(names = "--log-format", paramLabel = "text|json",
      description = "Log lines as text (default) or one JSON object per line with run, task, cluster and database"
          + " ids (also PGFLEET_LOG_FORMAT).")
  String logFormat;

  abstract String what();

  abstract boolean coordinator();

  abstract int workers(FleetConfig c);

  @Override
  public Integer call() throws Exception {
    Logs.service(logFormat);
    FleetConfig c;
    Storage storage;
    try {
      c = FleetSetup.load(config);
      if (needsExternalKafka() && FleetSetup.kafka(c) == null) {
        throw new UserError("configuration " + config + ": kafka.bootstrapServers is not set: a " + what()
            + " joins a fleet through an external Kafka; use 'pgfleet standalone' for the embedded broker");
      }
      storage = Repositories.forWriting(c.repository().url(), FleetSetup.resilience(c));
    } catch (ConfigException e) {
      throw new UserError(problems(e));
    }
    FleetProcess p;
    try {
      p = FleetProcess.start(c, storage, new FleetProcess.Options(coordinator(), workers(c), Main.version(),
          Duration.ofSeconds(silenceSeconds), Duration.ofSeconds(leaderSessionSeconds), instanceId));
    } catch (ConfigException e) {
      throw new UserError(problems(e));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.println("pgfleet: " + what() + " stopping");
      p.close();
      stopped.countDown();
    }, "pgfleet-shutdown"));
    StringBuilder line = new StringBuilder("pgfleet: " + what() + " running");
    if (coordinator()) {
      line.append(": coordinator ").append(p.coordinator().instanceId()).append(", API on http://")
          .append(c.coordinator().http().host()).append(':').append(p.apiPort());
    }
    if (workers(c) > 0) {
      line.append(coordinator() ? ", " : ": ").append(workers(c)).append(" worker(s) x ")
          .append(c.worker().slots()).append(" slot(s)");
      if (p.metricsPort() >= 0) {
        line.append(", metrics on http://0.0.0.0:").append(p.metricsPort()).append("/metrics");
      }
    }
    line.append(", repository ").append(storage.describe()).append(" (Ctrl-C or SIGTERM stops)");
    System.err.println(line);
    System.err.flush();
    stopped.await();
    return 0;
  }

  boolean needsExternalKafka() {
    return true;
  }

  private String problems(ConfigException e) {
    if (e.problems().size() == 1) {
      return "configuration " + config + ": " + e.problems().get(0);
    }
    return "configuration " + config + " has " + e.problems().size() + " problems:\n  "
        + String.join("\n  ", e.problems());
  }
}
