package io.pgfleet.common.retention;

import io.pgfleet.common.config.FleetConfig.RetentionPolicy;
import io.pgfleet.common.repository.BackupLocks.LockInfo;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Decides which backups of one database a {@link RetentionPolicy} keeps. Pure: no I/O, {@code now} is given.
 *
 * <p>The keep rules are restic's {@code forget}: walking the backups newest first, {@code keepLast} keeps the first
 * N; {@code keepDaily} keeps a backup whenever its calendar day (in the policy's time zone) differs from the day of
 * the backup it kept last, until N days have one (so: the newest backup of each of the N newest days that have a
 * backup); weekly (ISO week: week-based year and week number), monthly and yearly work the same. The rules are
 * independent: a backup kept by any of them is kept, with every rule that keeps it as a reason.
 *
 * <p>On top, whatever the policy: the newest backup, the newest backup that passed a restore test, a locked backup
 * and a backup younger than {@code minAge} are kept. A policy whose keep counts are all 0 would delete every
 * backup but those; it is refused.
 */
public final class RetentionPlanner {
  private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE;
  private static final DateTimeFormatter UNTIL = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'")
      .withZone(ZoneOffset.UTC);

  private RetentionPlanner() {}

  /**
   * One backup as retention sees it.
   *
   * @param restoreTestPassed a {@code verify/*.json} of the backup says {@code "passed": true}
   * @param locks the locks that protect it now (expired ones left out)
   */
  public record Candidate(String backupId, Instant finishedAt, boolean restoreTestPassed, List<LockInfo> locks) {
    public Candidate {
      Objects.requireNonNull(backupId, "backupId");
      Objects.requireNonNull(finishedAt, "finishedAt");
      locks = locks == null ? List.of() : List.copyOf(locks);
    }

    public Candidate(String backupId, Instant finishedAt) {
      this(backupId, finishedAt, false, List.of());
    }
  }

  /** @param reasons why it is kept, in the order keep rules, then safety rules; empty when it is deleted */
  public record Decision(Candidate backup, boolean keep, List<String> reasons) {}

  /** Every backup's decision, newest first. */
  public static List<Decision> plan(List<Candidate> backups, RetentionPolicy policy, Instant now) {
    validate(policy);
    ZoneId zone = policy.timeZone() == null ? ZoneOffset.UTC : policy.timeZone();
    Duration minAge = policy.minAge() == null ? Duration.ZERO : policy.minAge();
    List<Candidate> sorted = new ArrayList<>(backups);
    sorted.sort(Comparator.comparing(Candidate::finishedAt).thenComparing(Candidate::backupId).reversed());
    Map<Candidate, List<String>> reasons = new java.util.IdentityHashMap<>();
    sorted.forEach(c -> reasons.put(c, new ArrayList<>()));

    int last = 0;
    for (Candidate c : sorted) {
      if (last < policy.keepLast()) {
        reasons.get(c).add("last " + (++last) + "/" + policy.keepLast());
      }
    }
    bucket(sorted, reasons, policy.keepDaily(), "daily ", d -> DAY.format(d), zone);
    bucket(sorted, reasons, policy.keepWeekly(), "weekly ",
        d -> String.format("%d-W%02d", d.get(IsoFields.WEEK_BASED_YEAR), d.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)),
        zone);
    bucket(sorted, reasons, policy.keepMonthly(), "monthly ",
        d -> String.format("%d-%02d", d.getYear(), d.getMonthValue()), zone);
    bucket(sorted, reasons, policy.keepYearly(), "yearly ", d -> Integer.toString(d.getYear()), zone);

    Instant youngFrom = now.minus(minAge);
    boolean newestPassedSeen = false;
    for (int i = 0; i < sorted.size(); i++) {
      Candidate c = sorted.get(i);
      List<String> r = reasons.get(c);
      if (!minAge.isZero() && c.finishedAt().isAfter(youngFrom)) {
        r.add("younger than minAge");
      }
      if (i == 0) {
        r.add("newest backup");
      }
      if (c.restoreTestPassed() && !newestPassedSeen) {
        newestPassedSeen = true;
        r.add("newest passed restore test");
      }
      Map<String, Instant> byPurpose = new LinkedHashMap<>();
      for (LockInfo l : c.locks()) {
        if (l.activeAt(now)) {
          byPurpose.merge(l.purpose(), l.expiresAt(), (a, b) -> a.isAfter(b) ? a : b);
        }
      }
      byPurpose.forEach((purpose, until) -> r.add("locked by " + purpose + " (until " + UNTIL.format(until) + ")"));
    }
    List<Decision> out = new ArrayList<>();
    for (Candidate c : sorted) {
      List<String> r = reasons.get(c);
      out.add(new Decision(c, !r.isEmpty(), List.copyOf(r)));
    }
    return out;
  }

  private static void bucket(List<Candidate> sorted, Map<Candidate, List<String>> reasons, int count, String label,
      Function<LocalDate, String> period, ZoneId zone) {
    String lastPeriod = null;
    int kept = 0;
    for (Candidate c : sorted) {
      if (kept >= count) {
        return;
      }
      String p = period.apply(c.finishedAt().atZone(zone).toLocalDate());
      if (!p.equals(lastPeriod)) {
        reasons.get(c).add(label + p);
        lastPeriod = p;
        kept++;
      }
    }
  }

  /** Refuses a policy that keeps nothing (every count 0) or has a negative count. */
  public static void validate(RetentionPolicy p) {
    Objects.requireNonNull(p, "policy");
    if (p.keepLast() < 0 || p.keepDaily() < 0 || p.keepWeekly() < 0 || p.keepMonthly() < 0 || p.keepYearly() < 0) {
      throw new InvalidPolicyException("invalid retention policy (" + describe(p) + "): keep counts cannot be"
          + " negative");
    }
    if (p.keepLast() + p.keepDaily() + p.keepWeekly() + p.keepMonthly() + p.keepYearly() == 0) {
      throw new InvalidPolicyException("invalid retention policy: it keeps nothing; give at least one of keepLast,"
          + " keepDaily, keepWeekly, keepMonthly, keepYearly above 0 (nothing was deleted)");
    }
    if (p.minAge() != null && p.minAge().isNegative()) {
      throw new InvalidPolicyException("invalid retention policy (" + describe(p) + "): minAge cannot be negative");
    }
  }

  /** The policy in one line: {@code keepLast 3, keepDaily 7, minAge 7d, timeZone Europe/Berlin}. */
  public static String describe(RetentionPolicy p) {
    List<String> parts = new ArrayList<>();
    if (p.keepLast() != 0) {
      parts.add("keepLast " + p.keepLast());
    }
    if (p.keepDaily() != 0) {
      parts.add("keepDaily " + p.keepDaily());
    }
    if (p.keepWeekly() != 0) {
      parts.add("keepWeekly " + p.keepWeekly());
    }
    if (p.keepMonthly() != 0) {
      parts.add("keepMonthly " + p.keepMonthly());
    }
    if (p.keepYearly() != 0) {
      parts.add("keepYearly " + p.keepYearly());
    }
    if (parts.isEmpty()) {
      parts.add("keeps nothing");
    }
    if (p.minAge() != null && !p.minAge().isZero()) {
      Duration d = p.minAge();
      parts.add("minAge " + (d.toSeconds() % 86400 == 0 ? d.toDays() + "d" : d.toString()));
    }
    parts.add("timeZone " + (p.timeZone() == null ? "UTC" : p.timeZone().getId()));
    return String.join(", ", parts);
  }

  /** A policy that would delete every backup but those the safety rules hold. */
  public static final class InvalidPolicyException extends IllegalArgumentException {
    public InvalidPolicyException(String message) {
      super(message);
    }
  }
}
