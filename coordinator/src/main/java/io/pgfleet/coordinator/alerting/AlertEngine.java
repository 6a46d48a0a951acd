package io.pgfleet.coordinator.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Turns the fleet's events into alert notifications: one {@code firing} notification when a problem of a database
 * appears, a reminder every {@code dedupWindow} while it lasts, one {@code resolved} when it clears. Healthy
 * databases produce nothing.
 *
 * <p>Pure logic, confined to one thread (the coordinator's context): fed with {@link #onEvent} and a periodic
 * {@link #check}. It keeps no state across leader changes: a new leader's engine starts empty, so an alert firing
 * before a take-over is sent once more by the new leader (and its resolution is still sent).
 */
public final class AlertEngine {

  /** The restore-test events this engine reacts to. */
  static final String RESTORE_TEST_PASSED = EventTypes.RESTORE_TEST_PASSED;
  static final String RESTORE_TEST_FAILED = EventTypes.RESTORE_TEST_FAILED;

  public enum Kind {
    BACKUP_FAILED("backup_failed"),
    STORAGE_ERROR("storage_error"),
    RESTORE_TEST_FAILED("restore_test_failed"),
    MISSED_SCHEDULE("missed_schedule");

    private final String wire;

    Kind(String wire) {
      this.wire = wire;
    }

    /** The name in payloads, metrics and docs. */
    public String wire() {
      return wire;
    }
  }

  public enum Status {
    FIRING, RESOLVED;

    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One message for the webhooks.
   *
   * @param alertId the same for the firing, its reminders and its resolution; a new episode gets a new id
   * @param reminder a firing sent again after {@code dedupWindow}
   * @param details kind-specific facts (backupId, reason, category, failures, lastCompletedAt, expectedBy)
   */
  public record Notification(String alertId, Kind kind, Status status, String cluster, String database,
      String summary, Map<String, Object> details, Instant firstSeenAt, Instant at, boolean reminder) {
    public String subject() {
      return cluster + "/" + database;
    }
  }

  private record Key(Kind kind, String cluster, String database) {}

  /** One alert while it fires. */
  private static final class Active {
    final String id;
    final Instant firstSeenAt;
    Instant lastSentAt;
    String summary;
    Map<String, Object> details;

    Active(String id, Instant firstSeenAt, String summary, Map<String, Object> details) {
      this.id = id;
      this.firstSeenAt = firstSeenAt;
      this.lastSentAt = firstSeenAt;
      this.summary = summary;
      this.details = details;
    }
  }

  private final Clock clock;
  private final Duration missedGrace;
  private final Duration dedupWindow;
  private final ScheduledDatabases fleet;
  private final Instant startedAt;
  private final Map<Key, Active> active = new LinkedHashMap<>();
  /** When the engine first saw a database that has no backup: a missed schedule is counted from there. */
  private final Map<String, Instant> firstSighting = new HashMap<>();
  /** Completed backups the engine saw as events, in case the fleet's own view lags behind. */
  private final Map<String, Instant> completedSeen = new HashMap<>();
  private boolean checked;

  public AlertEngine(Clock clock, Duration missedGrace, Duration dedupWindow, ScheduledDatabases fleet) {
    this.clock = clock;
    this.missedGrace = missedGrace;
    this.dedupWindow = dedupWindow;
    this.fleet = fleet;
    this.startedAt = clock.instant();
  }

  /** The notifications one event of {@code pgfleet.events} causes (none for most). */
  public List<Notification> onEvent(CloudEvent e) {
    if (e.type() == null || e.subject() == null || e.subject().indexOf('/') < 0) {
      return List.of();
    }
    String cluster = e.subject().substring(0, e.subject().indexOf('/'));
    String database = e.subject().substring(e.subject().indexOf('/') + 1);
    Instant now = clock.instant();
    List<Notification> out = new ArrayList<>();
    switch (e.type()) {
      case EventTypes.BACKUP_FAILED -> {
        Payloads.BackupFailed f = e.dataAs(Payloads.BackupFailed.class);
        boolean storage = Payloads.BackupFailed.STORAGE.equals(f.category());
        Kind kind = storage ? Kind.STORAGE_ERROR : Kind.BACKUP_FAILED;
        String reason = oneLine(f.reason());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("backupId", f.backupId());
        details.put("reason", reason);
        if (f.category() != null) {
          details.put("category", f.category());
        }
        String summary = (storage ? "backup of " + cluster + "/" + database + " failed writing to the repository: "
            : "backup of " + cluster + "/" + database + " failed: ") + reason;
        fire(new Key(kind, cluster, database), summary, details, now).ifPresent(out::add);
      }
      case EventTypes.BACKUP_COMPLETED -> {
        completedSeen.merge(cluster + "/" + database, now, (a, b) -> a.isAfter(b) ? a : b);
        String summary = "backup of " + cluster + "/" + database + " completed";
        Map<String, Object> details = Map.of("backupId", String.valueOf(e.backupid()));
        for (Kind k : List.of(Kind.BACKUP_FAILED, Kind.STORAGE_ERROR, Kind.MISSED_SCHEDULE)) {
          resolve(new Key(k, cluster, database), summary, details, now).ifPresent(out::add);
        }
      }
      case RESTORE_TEST_FAILED -> {
        JsonNode data = e.data();
        List<String> failures = new ArrayList<>();
        if (data != null && data.path("failures").isArray()) {
          data.path("failures").forEach(n -> failures.add(oneLine(n.asText())));
        }
        String backupId = data == null || data.path("backupId").isMissingNode() ? e.backupid()
            : data.path("backupId").asText();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("backupId", backupId);
        details.put("failures", failures);
        String summary = "restore test of " + cluster + "/" + database + " (backup " + backupId + ") failed"
            + (failures.isEmpty() ? "" : ": " + String.join("; ", failures));
        fire(new Key(Kind.RESTORE_TEST_FAILED, cluster, database), summary, details, now).ifPresent(out::add);
      }
      case RESTORE_TEST_PASSED -> resolve(new Key(Kind.RESTORE_TEST_FAILED, cluster, database),
          "restore test of " + cluster + "/" + database + " passed",
          Map.of("backupId", String.valueOf(e.backupid())), now).ifPresent(out::add);
      default -> { }
    }
    return out;
  }

  /**
   * Looks at the schedules (missed ones fire, caught-up ones resolve) and sends reminders for alerts that have
   * lasted another {@code dedupWindow}.
   */
  public List<Notification> check(Instant now) {
    List<Notification> out = new ArrayList<>();
    Set<Key> overdue = new HashSet<>();
    Set<String> known = new HashSet<>();
    for (ScheduledDatabases.ScheduledDatabase d : fleet.scheduledDatabases()) {
      String name = d.cluster() + "/" + d.database();
      known.add(name);
      Instant last = latest(d.lastCompleted(), completedSeen.get(name));
      Instant from = last;
      if (from == null) {
        // Databases the fleet knew at the first check are owed a backup counted from the engine's start, not from
        // when it first looked (a few seconds later); later ones from when they appeared.
        Instant sighting = checked ? now : startedAt;
        from = firstSighting.computeIfAbsent(name, k -> sighting);
      }
      Optional<Instant> first = d.schedule().nextAfter(from);
      Optional<Instant> second = first.flatMap(d.schedule()::nextAfter);
      if (first.isEmpty() || second.isEmpty()) {
        continue; // a schedule that never fires again owes nothing
      }
      Duration interval = Duration.between(first.get(), second.get());
      Instant deadline = from.plus(interval).plus(missedGrace);
      Key key = new Key(Kind.MISSED_SCHEDULE, d.cluster(), d.database());
      if (now.isAfter(deadline)) {
        overdue.add(key);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("schedule", d.schedule().expression());
        details.put("lastCompletedAt", last == null ? null : last.toString());
        details.put("expectedBy", deadline.toString());
        String summary = cluster(d) + " has no completed backup "
            + (last == null ? "since pgfleet first saw it at " + from : "since " + last)
            + " (schedule '" + d.schedule().expression() + "', expected by " + deadline + ")";
        fire(key, summary, details, now).ifPresent(out::add);
      }
    }
    firstSighting.keySet().retainAll(known);
    checked = true;
    for (Iterator<Map.Entry<Key, Active>> it = active.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Key, Active> en = it.next();
      Key k = en.getKey();
      Active a = en.getValue();
      if (k.kind() == Kind.MISSED_SCHEDULE && !overdue.contains(k)) {
        it.remove();
        out.add(new Notification(a.id, k.kind(), Status.RESOLVED, k.cluster(), k.database(),
            k.cluster() + "/" + k.database() + " is back on schedule", a.details, a.firstSeenAt, now, false));
      } else if (!Duration.between(a.lastSentAt, now).minus(dedupWindow).isNegative()) {
        a.lastSentAt = now;
        out.add(new Notification(a.id, k.kind(), Status.FIRING, k.cluster(), k.database(), a.summary, a.details,
            a.firstSeenAt, now, true));
      }
    }
    return out;
  }

  /** Alerts firing now (for tests and diagnostics). */
  public int firing() {
    return active.size();
  }

  private Optional<Notification> fire(Key key, String summary, Map<String, Object> details, Instant now) {
    Active a = active.get(key);
    if (a != null) {
      // Same alert, still on: keep the latest facts for the reminder and the resolution, send nothing now.
      a.summary = summary;
      a.details = details;
      return Optional.empty();
    }
    a = new Active(alertId(key, now), now, summary, details);
    active.put(key, a);
    return Optional.of(new Notification(a.id, key.kind(), Status.FIRING, key.cluster(), key.database(), summary,
        details, now, now, false));
  }

  private Optional<Notification> resolve(Key key, String summary, Map<String, Object> details, Instant now) {
    Active a = active.remove(key);
    if (a == null) {
      return Optional.empty();
    }
    Map<String, Object> merged = new LinkedHashMap<>(a.details);
    merged.putAll(details);
    return Optional.of(new Notification(a.id, key.kind(), Status.RESOLVED, key.cluster(), key.database(), summary,
        merged, a.firstSeenAt, now, false));
  }

  private static String alertId(Key key, Instant firstSeen) {
    String seed = key.kind().wire() + "|" + key.cluster() + "/" + key.database() + "|" + firstSeen.toEpochMilli();
    return UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8)).toString();
  }

  private static String cluster(ScheduledDatabases.ScheduledDatabase d) {
    return d.cluster() + "/" + d.database();
  }

  private static Instant latest(Instant a, Instant b) {
    if (a == null) {
      return b;
    }
    return b == null || a.isAfter(b) ? a : b;
  }

  /** Alert texts are one line: chat clients and pagers cut the rest. */
  static String oneLine(String s) {
    if (s == null) {
      return "(no reason given)";
    }
    String line = s.strip().replaceAll("\\s*\\R\\s*", " ");
    return line.length() > 500 ? line.substring(0, 497) + "..." : line;
  }
}
