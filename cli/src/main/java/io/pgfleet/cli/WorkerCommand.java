package io.pgfleet.cli;

import io.pgfleet.common.config.FleetConfig;
import picocli.CommandLine.Command;

@Command(name = "worker", description = {
    "Run a worker of a fleet against an external Kafka: takes dump tasks from the task topic, worker.slots at a "
        + "time. Start more to scale; a worker that stops has its tasks finished elsewhere."})
final class WorkerCommand extends FleetCommand {
  @Override
  String what() {
    return "worker";
  }

  @Override
  boolean coordinator() {
    return false;
  }

  @Override
  int workers(FleetConfig c) {
    return 1;
  }
}
