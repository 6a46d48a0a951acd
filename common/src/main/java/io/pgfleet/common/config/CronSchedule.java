package io.pgfleet.common.config;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Optional;

/** A 5-field Unix cron expression in a time zone. */
public final class CronSchedule {
  private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
  private final String expression;
  private final ZoneId zone;
  private final ExecutionTime execution;

  private CronSchedule(String expression, ZoneId zone, ExecutionTime execution) {
    this.expression = expression;
    this.zone = zone;
    this.execution = execution;
  }

  public static CronSchedule parse(String cron, ZoneId zone) {
    try {
      return new CronSchedule(cron, zone, ExecutionTime.forCron(PARSER.parse(cron)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + cron + "' is not a valid cron expression: " + e.getMessage());
    }
  }

  public Optional<Instant> nextAfter(Instant t) {
    return execution.nextExecution(t.atZone(zone)).map(z -> z.toInstant());
  }

  public String describe() {
    return expression + " (" + zone + ")";
  }
}
