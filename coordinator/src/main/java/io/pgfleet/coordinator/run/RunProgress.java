package io.pgfleet.coordinator.run;

import java.time.Duration;

/**
 * A run's progress as the CLI and the API show it.
 *
 * @param planNotes what the planner decided that a user should know (tables split into chunks, or not and why)
 */
public record RunProgress(String backupId, String database, int tasksTotal, int tasksDone, int tasksRunning,
    long rows, long rawBytes, long storedBytes, double fraction, Duration elapsed, java.util.List<String> planNotes) {

  /** Estimated time left from the rate so far; empty until there is a rate to go by. */
  public java.util.Optional<Duration> eta() {
    if (fraction <= 0.01 || elapsed.toMillis() < 1000) {
      return java.util.Optional.empty();
    }
    long left = (long) (elapsed.toMillis() * (1 - fraction) / fraction);
    return java.util.Optional.of(Duration.ofMillis(Math.max(0, left)));
  }

  public double bytesPerSecond() {
    double s = elapsed.toMillis() / 1000.0;
    return s <= 0 ? 0 : rawBytes / s;
  }
}
