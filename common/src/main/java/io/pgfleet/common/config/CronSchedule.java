package io.pgfleet.common.config;

import com.cronutils.descriptor.CronDescriptor;
import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A 5-field Unix cron expression (minute hour day-of-month month day-of-week) evaluated in a time zone, so that
 * {@code 0 2 * * *} in Europe/Berlin fires at 02:00 local time on both sides of a DST change.
 */
public final class CronSchedule {
  private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
  private static final String EXPECTED =
      "expected 5 fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'";

  private final String expression;
  private final ZoneId zone;
  private final Cron cron;
  private final ExecutionTime executionTime;

  private CronSchedule(String expression, ZoneId zone, Cron cron) {
    this.expression = expression;
    this.zone = zone;
    this.cron = cron;
    this.executionTime = ExecutionTime.forCron(cron);
  }

  /**
   * Parses and validates an expression.
   *
   * @throws IllegalArgumentException naming the expression and what is wrong with it
   */
  public static CronSchedule parse(String cron, ZoneId zone) {
    Objects.requireNonNull(zone, "zone");
    if (cron == null || cron.isBlank()) {
      throw new IllegalArgumentException("empty cron expression; " + EXPECTED);
    }
    String expression = cron.strip();
    int fields = expression.split("\\s+").length;
    if (fields != 5) {
      throw new IllegalArgumentException("'" + expression + "' is not a valid cron expression: it has " + fields
          + (fields == 1 ? " field; " : " fields; ") + EXPECTED);
    }
    try {
      return new CronSchedule(expression, zone, PARSER.parse(expression).validate());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + expression + "' is not a valid cron expression: " + reason(e) + "; "
          + EXPECTED);
    }
  }

  private static String reason(IllegalArgumentException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    // cron-utils repeats the expression in front of the reason; the caller's message already names it.
    return m.replaceFirst("^Failed to parse cron expression\\.\\s*", "")
        .replaceFirst("^Failed to parse '[^']*'\\.\\s*", "")
        .strip();
  }

  /** The first time strictly after {@code t} at which the schedule fires, or empty if it never does again. */
  public Optional<Instant> nextAfter(Instant t) {
    return executionTime.nextExecution(ZonedDateTime.ofInstant(t, zone)).map(ZonedDateTime::toInstant);
  }

  /** In English, e.g. "at 02:00 (Europe/Berlin)". */
  public String describe() {
    return CronDescriptor.instance(Locale.ENGLISH).describe(cron) + " (" + zone.getId() + ")";
  }

  public String expression() {
    return expression;
  }

  public ZoneId zone() {
    return zone;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CronSchedule c && c.expression.equals(expression) && c.zone.equals(zone);
  }

  @Override
  public int hashCode() {
    return Objects.hash(expression, zone);
  }

  @Override
  public String toString() {
    return expression + " " + zone.getId();
  }
}
