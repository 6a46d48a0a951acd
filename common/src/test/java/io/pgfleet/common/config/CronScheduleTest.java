package io.pgfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class CronScheduleTest {
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

  @Test
  void firesAtTheSameLocalTimeOnBothSidesOfTheSpringDstChange() {
    // 2024-03-31 02:00 CET -> 03:00 CEST in Berlin: 01:00 local is 00:00Z before, 23:00Z the day before after.
    CronSchedule daily = CronSchedule.parse("0 1 * * *", BERLIN);
    Instant first = daily.nextAfter(Instant.parse("2024-03-30T12:00:00Z")).orElseThrow();
    assertThat(first).isEqualTo(Instant.parse("2024-03-31T00:00:00Z"));
    Instant second = daily.nextAfter(first).orElseThrow();
    assertThat(second).isEqualTo(Instant.parse("2024-03-31T23:00:00Z"));
  }

  @Test
  void firesAtTheSameLocalTimeOnBothSidesOfTheAutumnDstChange() {
    // 2024-10-27 03:00 CEST -> 02:00 CET: 03:00 local is 01:00Z the day before, 02:00Z on the day.
    CronSchedule daily = CronSchedule.parse("0 3 * * *", BERLIN);
    Instant before = daily.nextAfter(Instant.parse("2024-10-25T12:00:00Z")).orElseThrow();
    assertThat(before).isEqualTo(Instant.parse("2024-10-26T01:00:00Z"));
    assertThat(daily.nextAfter(before)).contains(Instant.parse("2024-10-27T02:00:00Z"));
  }

  @Test
  void nextAfterIsStrictlyAfter() {
    CronSchedule hourly = CronSchedule.parse("0 * * * *", ZoneOffset.UTC);
    Instant onTheHour = Instant.parse("2025-01-01T10:00:00Z");
    assertThat(hourly.nextAfter(onTheHour)).contains(Instant.parse("2025-01-01T11:00:00Z"));
    assertThat(hourly.nextAfter(onTheHour.minusSeconds(1))).contains(onTheHour);
  }

  @Test
  void weekdaysAndStepsFollowUnixCron() {
    // 2025-01-04 is a Saturday: Mon-Fri at 02:30 next fires on Monday 2025-01-06.
    CronSchedule weekdays = CronSchedule.parse("30 2 * * 1-5", ZoneOffset.UTC);
    assertThat(weekdays.nextAfter(Instant.parse("2025-01-04T00:00:00Z")))
        .contains(Instant.parse("2025-01-06T02:30:00Z"));
    CronSchedule every15 = CronSchedule.parse("*/15 * * * *", ZoneOffset.UTC);
    assertThat(every15.nextAfter(Instant.parse("2025-01-04T00:07:00Z")))
        .contains(Instant.parse("2025-01-04T00:15:00Z"));
  }

  @Test
  void invalidExpressionsAreRefusedWithTheExpressionAndTheReason() {
    assertThatThrownBy(() -> CronSchedule.parse("0 25 * * *", BERLIN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("'0 25 * * *' is not a valid cron expression: ")
        .hasMessageContaining("25");
    assertThatThrownBy(() -> CronSchedule.parse("0 0 2 * * *", BERLIN))
        .hasMessageContaining("it has 6 fields; expected 5 fields");
    assertThatThrownBy(() -> CronSchedule.parse("   ", BERLIN)).hasMessageStartingWith("empty cron expression");
    assertThatThrownBy(() -> CronSchedule.parse("a b c d e", BERLIN))
        .hasMessageStartingWith("'a b c d e' is not a valid cron expression: ");
  }

  @Test
  void describesInEnglishWithTheZone() {
    String text = CronSchedule.parse("0 2 * * *", BERLIN).describe();
    assertThat(text).endsWith("(Europe/Berlin)");
    assertThat(text.toLowerCase()).contains("2");
  }
}
