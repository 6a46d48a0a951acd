package io.pgfleet.coordinator.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.config.CronSchedule;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.coordinator.alerting.AlertEngine.Kind;
import io.pgfleet.coordinator.alerting.AlertEngine.Notification;
import io.pgfleet.coordinator.alerting.AlertEngine.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The alert rules, de-duplication and resolution, on a fake clock. */
class AlertEngineTest {
  private static final Instant T0 = Instant.parse("2026-03-02T10:00:30Z");
  private static final CronSchedule HOURLY = CronSchedule.parse("0 * * * *", ZoneId.of("UTC"));

  /** A clock the test moves. */
  private static final class FakeClock extends Clock {
    Instant now = T0;

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }

    Instant advance(Duration d) {
      now = now.plus(d);
      return now;
    }
  }

  private final FakeClock clock = new FakeClock();
  private final List<ScheduledDatabases.ScheduledDatabase> fleet = new ArrayList<>();
  private final AlertEngine engine =
      new AlertEngine(clock, Duration.ofMinutes(10), Duration.ofHours(1), () -> List.copyOf(fleet));

  private static CloudEvent failed(String db, String reason, String category) {
    return CloudEvent.of("test", EventTypes.BACKUP_FAILED, "tenant-a", db, "run", "b1", null,
        new Payloads.BackupFailed("b1", reason, category));
  }

  private static CloudEvent completed(String db) {
    return CloudEvent.of("test", EventTypes.BACKUP_COMPLETED, "tenant-a", db, "run", "b2", null,
        new Payloads.BackupCompleted("b2", "k", 1, 1, 1, 1));
  }

  @Test
  void oneFiringPerFailingDatabaseThenOneResolved() {
    List<Notification> out = new ArrayList<>(engine.onEvent(failed("billing", "permission denied\nfor table x",
        Payloads.BackupFailed.DATABASE)));
    clock.advance(Duration.ofMinutes(5));
    out.addAll(engine.onEvent(failed("billing", "permission denied again", Payloads.BackupFailed.DATABASE)));
    out.addAll(engine.check(clock.advance(Duration.ofMinutes(5))));
    assertThat(out).hasSize(1);
    Notification n = out.get(0);
    assertThat(n.kind()).isEqualTo(Kind.BACKUP_FAILED);
    assertThat(n.status()).isEqualTo(Status.FIRING);
    assertThat(n.subject()).isEqualTo("tenant-a/billing");
    assertThat(n.summary()).isEqualTo("backup of tenant-a/billing failed: permission denied for table x");
    assertThat(n.firstSeenAt()).isEqualTo(T0);

    List<Notification> resolved = engine.onEvent(completed("billing"));
    assertThat(resolved).singleElement().satisfies(r -> {
      assertThat(r.status()).isEqualTo(Status.RESOLVED);
      assertThat(r.alertId()).isEqualTo(n.alertId());
      assertThat(r.kind()).isEqualTo(Kind.BACKUP_FAILED);
    });
    assertThat(engine.onEvent(completed("billing"))).isEmpty();
    assertThat(engine.check(clock.advance(Duration.ofHours(2)))).isEmpty();

    // A new episode is a new alert with a new id.
    List<Notification> again = engine.onEvent(failed("billing", "boom", null));
    assertThat(again).singleElement().satisfies(a -> assertThat(a.alertId()).isNotEqualTo(n.alertId()));
  }

  @Test
  void twoFailingDatabasesFireOnceEach() {
    List<Notification> out = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      out.addAll(engine.onEvent(failed("billing", "x", null)));
      out.addAll(engine.onEvent(failed("orders", "y", null)));
    }
    assertThat(out).extracting(Notification::database).containsExactly("billing", "orders");
  }

  @Test
  void remindsAfterTheDedupWindowOnly() {
    engine.onEvent(failed("billing", "first", null));
    assertThat(engine.check(clock.advance(Duration.ofMinutes(59)))).isEmpty();
    engine.onEvent(failed("billing", "latest reason", null));
    List<Notification> reminder = engine.check(clock.advance(Duration.ofMinutes(1)));
    assertThat(reminder).singleElement().satisfies(r -> {
      assertThat(r.reminder()).isTrue();
      assertThat(r.status()).isEqualTo(Status.FIRING);
      assertThat(r.summary()).endsWith("latest reason");
      assertThat(r.firstSeenAt()).isEqualTo(T0);
    });
    assertThat(engine.check(clock.advance(Duration.ofMinutes(30)))).isEmpty();
    assertThat(engine.check(clock.advance(Duration.ofMinutes(30)))).hasSize(1);
  }

  @Test
  void storageFailuresAreStorageErrorsNotBackupFailures() {
    List<Notification> out = engine.onEvent(failed("billing", "cannot write the manifest", "storage"));
    assertThat(out).singleElement().satisfies(n -> {
      assertThat(n.kind()).isEqualTo(Kind.STORAGE_ERROR);
      assertThat(n.details()).containsEntry("category", "storage");
    });
    assertThat(engine.onEvent(completed("billing"))).singleElement()
        .satisfies(n -> assertThat(n.kind()).isEqualTo(Kind.STORAGE_ERROR));
  }

  @Test
  void restoreTestFailureListsFailuresAndResolvesOnPass() {
    CloudEvent bad = CloudEvent.of("test", "io.pgfleet.restore_test.failed", "tenant-a", "billing", null, "b1", null,
        Map.of("backupId", "b1", "failures", List.of("row count of public.t differs", "assertion 2 false")));
    assertThat(engine.onEvent(bad)).singleElement().satisfies(n -> {
      assertThat(n.kind()).isEqualTo(Kind.RESTORE_TEST_FAILED);
      assertThat(n.summary()).contains("row count of public.t differs; assertion 2 false");
    });
    assertThat(engine.onEvent(bad)).isEmpty();
    CloudEvent good = CloudEvent.of("test", "io.pgfleet.restore_test.passed", "tenant-a", "billing", null, "b2", null,
        Map.of("backupId", "b2"));
    assertThat(engine.onEvent(good)).singleElement()
        .satisfies(n -> assertThat(n.status()).isEqualTo(Status.RESOLVED));
  }

  @Test
  void missedScheduleAfterIntervalPlusGraceThenResolvedByABackup() {
    Instant last = Instant.parse("2026-03-02T09:00:05Z");
    fleet.add(new ScheduledDatabases.ScheduledDatabase("tenant-a", "billing", HOURLY, last));
    // Due by 10:00:05 + 10 min grace.
    assertThat(engine.check(clock.now)).isEmpty();
    clock.now = Instant.parse("2026-03-02T10:10:04Z");
    assertThat(engine.check(clock.now)).isEmpty();
    clock.now = Instant.parse("2026-03-02T10:10:06Z");
    List<Notification> fired = engine.check(clock.now);
    assertThat(fired).singleElement().satisfies(n -> {
      assertThat(n.kind()).isEqualTo(Kind.MISSED_SCHEDULE);
      assertThat(n.summary()).contains("since " + last);
    });
    assertThat(engine.check(clock.advance(Duration.ofMinutes(5)))).isEmpty();
    List<Notification> resolved = engine.onEvent(completed("billing"));
    assertThat(resolved).singleElement().satisfies(n -> {
      assertThat(n.kind()).isEqualTo(Kind.MISSED_SCHEDULE);
      assertThat(n.status()).isEqualTo(Status.RESOLVED);
      assertThat(n.alertId()).isEqualTo(fired.get(0).alertId());
    });
    assertThat(engine.check(clock.advance(Duration.ofMinutes(5)))).isEmpty();
  }

  @Test
  void neverBackedUpDatabaseCountsFromTheEnginesStart() {
    fleet.add(new ScheduledDatabases.ScheduledDatabase("tenant-a", "fresh", HOURLY, null));
    assertThat(engine.check(clock.advance(Duration.ofMinutes(50)))).isEmpty();
    assertThat(engine.check(clock.advance(Duration.ofMinutes(19)))).isEmpty();
    assertThat(engine.check(clock.advance(Duration.ofMinutes(2)))).singleElement()
        .satisfies(n -> assertThat(n.summary()).contains("since pgfleet first saw it at " + T0));
  }

  @Test
  void healthyDatabaseProducesNothing() {
    fleet.add(new ScheduledDatabases.ScheduledDatabase("tenant-a", "ok", HOURLY, T0.minusSeconds(60)));
    List<Notification> out = new ArrayList<>();
    for (int hour = 0; hour < 24; hour++) {
      clock.advance(Duration.ofMinutes(60));
      out.addAll(engine.onEvent(completed("ok")));
      fleet.set(0, new ScheduledDatabases.ScheduledDatabase("tenant-a", "ok", HOURLY, clock.now));
      out.addAll(engine.check(clock.advance(Duration.ofMinutes(1))));
    }
    assertThat(out).isEmpty();
    assertThat(engine.firing()).isZero();
  }
}
