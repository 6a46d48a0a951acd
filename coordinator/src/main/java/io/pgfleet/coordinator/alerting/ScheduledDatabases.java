package io.pgfleet.coordinator.alerting;

import io.pgfleet.common.config.CronSchedule;
import java.time.Instant;
import java.util.List;

/**
 * What the alert engine needs to know of the fleet to notice a missed schedule: every known database of every
 * scheduled cluster, with its last completed backup. Implemented by the fleet coordinator; called on its context.
 */
public interface ScheduledDatabases {

  /** @param lastCompleted when its newest backup finished, or null if it has none */
  record ScheduledDatabase(String cluster, String database, CronSchedule schedule, Instant lastCompleted) {}

  List<ScheduledDatabase> scheduledDatabases();
}
