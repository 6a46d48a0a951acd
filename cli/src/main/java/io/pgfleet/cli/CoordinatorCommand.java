package io.pgfleet.cli;

import io.pgfleet.common.config.FleetConfig;
import picocli.CommandLine.Command;

@Command(name = "coordinator", description = {
    "Run a coordinator of a fleet against an external Kafka: schedules backups of the configured clusters, "
        + "discovers their databases at every wave, admits runs as workers have room, and serves the HTTP API. "
        + "Several may run; one leads (the others stand by and take over when it stops)."})
final class CoordinatorCommand extends FleetCommand {
  @Override
  String what() {
    return "coordinator";
  }

  @Override
  boolean coordinator() {
    return true;
  }

  @Override
  int workers(FleetConfig c) {
    return 0;
  }
}
