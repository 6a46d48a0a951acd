package io.pgfleet.common.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgfleet.common.config.FleetConfig.RetentionPolicy;
import io.pgfleet.common.repository.BackupLocks.LockInfo;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Table-driven: a history of backups with chosen finish times × a policy → exactly the kept set, each with its
 * reasons. The expected tables of the 400-day history were computed independently (Python's isocalendar), not by
 * this planner.
 */
class RetentionPlannerTest {
  private static final ZoneId UTC = ZoneOffset.UTC;
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  private static final DateTimeFormatter ID =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final Instant FAR_FUTURE = Instant.parse("2100-01-01T00:00:00Z");

  static RetentionPolicy policy(int last, int daily, int weekly, int monthly, int yearly, ZoneId zone) {
    return new RetentionPolicy(last, daily, weekly, monthly, yearly, Duration.ZERO, zone);
  }

  static RetentionPlanner.Candidate at(String instant) {
    Instant t = Instant.parse(instant);
    return new RetentionPlanner.Candidate(ID.format(t) + "-000000", t);
  }

  /** Hourly backups over 400 days, the newest at 2026-11-25T22:00Z. */
  static List<RetentionPlanner.Candidate> hourly400Days() {
    List<RetentionPlanner.Candidate> out = new ArrayList<>();
    Instant end = Instant.parse("2026-11-25T22:00:00Z");
    for (int h = 0; h <= 400 * 24; h++) {
      Instant t = end.minus(Duration.ofHours(h));
      out.add(new RetentionPlanner.Candidate(ID.format(t) + "-000000", t));
    }
    return out;
  }

  static Stream<Arguments> histories() {
    return Stream.of(
        Arguments.of("GFS 7/4/12/2 over 400 hourly days", hourly400Days(), policy(0, 7, 4, 12, 2, UTC), List.of(
            "2026-11-25T22:00:00Z | daily 2026-11-25, weekly 2026-W48, monthly 2026-11, yearly 2026, newest backup",
            "2026-11-24T23:00:00Z | daily 2026-11-24",
            "2026-11-23T23:00:00Z | daily 2026-11-23",
            "2026-11-22T23:00:00Z | daily 2026-11-22, weekly 2026-W47",
            "2026-11-21T23:00:00Z | daily 2026-11-21",
            "2026-11-20T23:00:00Z | daily 2026-11-20",
            "2026-11-19T23:00:00Z | daily 2026-11-19",
            "2026-11-15T23:00:00Z | weekly 2026-W46",
            "2026-11-08T23:00:00Z | weekly 2026-W45",
            "2026-10-31T23:00:00Z | monthly 2026-10",
            "2026-09-30T23:00:00Z | monthly 2026-09",
            "2026-08-31T23:00:00Z | monthly 2026-08",
            "2026-07-31T23:00:00Z | monthly 2026-07",
            "2026-06-30T23:00:00Z | monthly 2026-06",
            "2026-05-31T23:00:00Z | monthly 2026-05",
            "2026-04-30T23:00:00Z | monthly 2026-04",
            "2026-03-31T23:00:00Z | monthly 2026-03",
            "2026-02-28T23:00:00Z | monthly 2026-02",
            "2026-01-31T23:00:00Z | monthly 2026-01",
            "2025-12-31T23:00:00Z | monthly 2025-12, yearly 2025")),
        Arguments.of("keepLast 3 over 400 hourly days", hourly400Days(), policy(3, 0, 0, 0, 0, UTC), List.of(
            "2026-11-25T22:00:00Z | last 1/3, newest backup",
            "2026-11-25T21:00:00Z | last 2/3",
            "2026-11-25T20:00:00Z | last 3/3")),
        Arguments.of("keepLast 2 + keepDaily 2: rules are independent", List.of(
            at("2026-11-25T10:00:00Z"), at("2026-11-25T09:00:00Z"), at("2026-11-24T20:00:00Z"),
            at("2026-11-24T08:00:00Z"), at("2026-11-23T08:00:00Z")), policy(2, 2, 0, 0, 0, UTC), List.of(
            "2026-11-25T10:00:00Z | last 1/2, daily 2026-11-25, newest backup",
            "2026-11-25T09:00:00Z | last 2/2",
            "2026-11-24T20:00:00Z | daily 2026-11-24")),
        Arguments.of("days with no backup do not count (restic: the N newest days that have one)", List.of(
            at("2026-11-25T10:00:00Z"), at("2026-11-20T10:00:00Z"), at("2026-11-10T10:00:00Z"),
            at("2026-11-01T10:00:00Z")), policy(0, 3, 0, 0, 0, UTC), List.of(
            "2026-11-25T10:00:00Z | daily 2026-11-25, newest backup",
            "2026-11-20T10:00:00Z | daily 2026-11-20",
            "2026-11-10T10:00:00Z | daily 2026-11-10")),
        // 2026-03-29: clocks go 02:00 CET -> 03:00 CEST. 22:30Z on the 28th is 23:30 on the 28th in Berlin;
        // 23:30Z is 01:30 on the 29th; 2026-03-29T22:30Z is 00:30 on the 30th (CEST, +2).
        Arguments.of("Europe/Berlin days, spring DST", List.of(
            at("2026-03-29T22:30:00Z"), at("2026-03-29T21:30:00Z"), at("2026-03-28T23:30:00Z"),
            at("2026-03-28T22:30:00Z"), at("2026-03-28T10:00:00Z")), policy(0, 3, 0, 0, 0, BERLIN), List.of(
            "2026-03-29T22:30:00Z | daily 2026-03-30, newest backup",
            "2026-03-29T21:30:00Z | daily 2026-03-29",
            "2026-03-28T22:30:00Z | daily 2026-03-28")),
        Arguments.of("the same history in UTC", List.of(
            at("2026-03-29T22:30:00Z"), at("2026-03-29T21:30:00Z"), at("2026-03-28T23:30:00Z"),
            at("2026-03-28T22:30:00Z"), at("2026-03-28T10:00:00Z")), policy(0, 3, 0, 0, 0, UTC), List.of(
            "2026-03-29T22:30:00Z | daily 2026-03-29, newest backup",
            "2026-03-28T23:30:00Z | daily 2026-03-28")),
        // 2026-10-25: clocks go 03:00 CEST -> 02:00 CET; that day has 25 hours in Berlin:
        // 2026-10-24T22:30Z = 00:30 CEST on the 25th, 2026-10-25T22:30Z = 23:30 CET on the 25th.
        Arguments.of("Europe/Berlin days, autumn DST (a 25-hour day)", List.of(
            at("2026-10-25T23:30:00Z"), at("2026-10-25T22:30:00Z"), at("2026-10-24T22:30:00Z"),
            at("2026-10-24T21:30:00Z")), policy(0, 3, 0, 0, 0, BERLIN), List.of(
            "2026-10-25T23:30:00Z | daily 2026-10-26, newest backup",
            "2026-10-25T22:30:00Z | daily 2026-10-25",
            "2026-10-24T21:30:00Z | daily 2026-10-24")),
        // ISO weeks: 2024-12-30 (Monday) begins 2025-W01; 2026 has 53 weeks and 2027-01-01 (Friday) is in 2026-W53.
        Arguments.of("ISO weeks across year boundaries", List.of(
            at("2027-01-04T12:00:00Z"), at("2027-01-01T12:00:00Z"), at("2026-12-28T12:00:00Z"),
            at("2025-01-02T12:00:00Z"), at("2024-12-30T12:00:00Z"), at("2024-12-28T12:00:00Z")),
            policy(0, 0, 4, 0, 0, UTC), List.of(
            "2027-01-04T12:00:00Z | weekly 2027-W01, newest backup",
            "2027-01-01T12:00:00Z | weekly 2026-W53",
            "2025-01-02T12:00:00Z | weekly 2025-W01",
            "2024-12-28T12:00:00Z | weekly 2024-W52")),
        Arguments.of("yearly and monthly walk newest first", List.of(
            at("2026-02-01T00:00:00Z"), at("2026-01-15T00:00:00Z"), at("2025-12-31T23:59:59Z"),
            at("2025-06-01T00:00:00Z"), at("2024-03-01T00:00:00Z")), policy(0, 0, 0, 2, 3, UTC), List.of(
            "2026-02-01T00:00:00Z | monthly 2026-02, yearly 2026, newest backup",
            "2026-01-15T00:00:00Z | monthly 2026-01",
            "2025-12-31T23:59:59Z | yearly 2025",
            "2024-03-01T00:00:00Z | yearly 2024")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void keepsExactlyTheExpectedBackups(String name, List<RetentionPlanner.Candidate> history, RetentionPolicy policy,
      List<String> expected) {
    assertThat(kept(RetentionPlanner.plan(history, policy, FAR_FUTURE))).containsExactlyElementsOf(expected);
  }

  @Test
  void inputOrderDoesNotMatter() {
    List<RetentionPlanner.Candidate> h = new ArrayList<>(hourly400Days());
    java.util.Collections.shuffle(h, new java.util.Random(7));
    assertThat(kept(RetentionPlanner.plan(h, policy(0, 7, 4, 12, 2, UTC), FAR_FUTURE)))
        .isEqualTo(kept(RetentionPlanner.plan(hourly400Days(), policy(0, 7, 4, 12, 2, UTC), FAR_FUTURE)));
  }

  static Stream<RetentionPolicy> anyPolicy() {
    return Stream.of(policy(1, 0, 0, 0, 0, UTC), policy(0, 1, 0, 0, 0, UTC), policy(0, 0, 1, 0, 0, BERLIN),
        policy(0, 0, 0, 1, 0, UTC), policy(0, 0, 0, 0, 1, UTC), policy(2, 7, 4, 12, 2, BERLIN));
  }

  /** The newest backup and the newest that passed a restore test survive every policy; older passes do not count. */
  @ParameterizedTest
  @MethodSource("anyPolicy")
  void newestAndNewestVerifiedSurviveAnyPolicy(RetentionPolicy policy) {
    List<RetentionPlanner.Candidate> h = new ArrayList<>(hourly400Days());
    // 2025-11-01T05:00Z (and one older) passed a restore test: no rule above keeps that hour.
    h.replaceAll(c -> c.finishedAt().equals(Instant.parse("2025-11-01T05:00:00Z"))
        || c.finishedAt().equals(Instant.parse("2025-10-30T05:00:00Z"))
        ? new RetentionPlanner.Candidate(c.backupId(), c.finishedAt(), true, List.of()) : c);
    Map<String, List<String>> kept = keptById(RetentionPlanner.plan(h, policy, FAR_FUTURE));
    assertThat(kept.get("20261125T220000Z-000000")).contains("newest backup");
    assertThat(kept.get("20251101T050000Z-000000")).containsExactly("newest passed restore test");
    assertThat(kept).doesNotContainKey("20251030T050000Z-000000");
  }

  @ParameterizedTest
  @MethodSource("anyPolicy")
  void lockedAndYoungSurviveAnyPolicy(RetentionPolicy p) {
    Instant now = Instant.parse("2026-11-26T00:00:00Z");
    RetentionPolicy policy = new RetentionPolicy(p.keepLast(), p.keepDaily(), p.keepWeekly(), p.keepMonthly(),
        p.keepYearly(), Duration.ofDays(3), p.timeZone());
    List<RetentionPlanner.Candidate> h = new ArrayList<>(hourly400Days());
    Instant until = Instant.parse("2026-11-27T00:00:00Z");
    LockInfo restore = new LockInfo("k1", "restore", "host/pid 1", now.minusSeconds(60), until);
    LockInfo expired = new LockInfo("k2", "verify", "host/pid 2", now.minusSeconds(90_000), now.minusSeconds(1));
    h.replaceAll(c -> switch (c.backupId()) {
      case "20260203T040000Z-000000" -> new RetentionPlanner.Candidate(c.backupId(), c.finishedAt(), false,
          List.of(restore));
      case "20260204T040000Z-000000" -> new RetentionPlanner.Candidate(c.backupId(), c.finishedAt(), false,
          List.of(expired));
      default -> c;
    });
    Map<String, List<String>> kept = keptById(RetentionPlanner.plan(h, policy, now));
    assertThat(kept.get("20260203T040000Z-000000")).containsExactly("locked by restore (until 2026-11-27T00:00:00Z)");
    assertThat(kept).doesNotContainKey("20260204T040000Z-000000");
    // younger than 3 days at 2026-11-26T00:00Z: finished after 2026-11-23T00:00Z (exclusive)
    for (int h2 = 0; h2 < 3 * 24 - 2; h2++) {
      String id = ID.format(Instant.parse("2026-11-25T22:00:00Z").minus(Duration.ofHours(h2))) + "-000000";
      assertThat(kept.get(id)).as(id).contains("younger than minAge");
    }
    assertThat(kept).doesNotContainKey("20261122T100000Z-000000");
  }

  @Test
  void aPolicyThatKeepsNothingIsRefused() {
    RetentionPolicy nothing = new RetentionPolicy(0, 0, 0, 0, 0, Duration.ofDays(30), UTC);
    assertThatThrownBy(() -> RetentionPlanner.plan(hourly400Days(), nothing, FAR_FUTURE))
        .isInstanceOf(RetentionPlanner.InvalidPolicyException.class).hasMessageContaining("keeps nothing");
    assertThatThrownBy(() -> RetentionPlanner.plan(List.of(), policy(-1, 3, 0, 0, 0, UTC), FAR_FUTURE))
        .isInstanceOf(RetentionPlanner.InvalidPolicyException.class);
  }

  @Test
  void noBackupsNoDecisions() {
    assertThat(RetentionPlanner.plan(List.of(), policy(1, 0, 0, 0, 0, UTC), FAR_FUTURE)).isEmpty();
  }

  @Test
  void describesThePolicyInOneLine() {
    assertThat(RetentionPlanner.describe(new RetentionPolicy(3, 7, 0, 12, 0, Duration.ofDays(7), BERLIN)))
        .isEqualTo("keepLast 3, keepDaily 7, keepMonthly 12, minAge 7d, timeZone Europe/Berlin");
  }

  private static List<String> kept(List<RetentionPlanner.Decision> plan) {
    return plan.stream().filter(RetentionPlanner.Decision::keep)
        .map(d -> d.backup().finishedAt() + " | " + String.join(", ", d.reasons())).toList();
  }

  private static Map<String, List<String>> keptById(List<RetentionPlanner.Decision> plan) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    plan.stream().filter(RetentionPlanner.Decision::keep).forEach(d -> out.put(d.backup().backupId(), d.reasons()));
    return out;
  }
}
