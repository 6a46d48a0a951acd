package io.pgfleet.cli;

import io.pgfleet.common.config.FleetConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "standalone", description = {
    "Run a whole fleet in this process: a coordinator with its API and workers, over the configured Kafka or, "
        + "when the configuration names none, an embedded broker."})
final class StandaloneCommand extends FleetCommand {
  @Option(names = "--workers", defaultValue = "2", description = "Worker instances (default ${DEFAULT-VALUE}).")
  int workers;

  @Override
  String what() {
    return "standalone fleet";
  }

  @Override
  boolean coordinator() {
    return true;
  }

  @Override
  int workers(FleetConfig c) {
    if (workers < 1 || workers > 64) {
      throw new UserError("--workers " + workers + " is out of range: give 1 to 64");
    }
    return workers;
  }

  @Override
  boolean needsExternalKafka() {
    return false;
  }
}
