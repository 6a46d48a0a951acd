package io.pgfleet.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.LoggerFactory;

/**
 * Logging of the long-running commands: pgfleet's own loggers at INFO, as text lines or, with
 * {@code --log-format json} (or {@code PGFLEET_LOG_FORMAT=json}), one JSON object per line with the mapped
 * diagnostic context: {@code run}, {@code task}, {@code cluster} and {@code database} where a task runs. No secret is
 * ever logged: connections are described by {@code PgConnectionInfo.redacted()}, webhooks by name.
 */
final class Logs {
  private Logs() {}

  static void service(String format) {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger pgfleet = ctx.getLogger("io.pgfleet");
    if (pgfleet.getLevel() == null || pgfleet.getLevel().levelInt > Level.INFO.levelInt) {
      pgfleet.setLevel(Level.INFO);
    }
    String f = format != null ? format : System.getenv("PGFLEET_LOG_FORMAT");
    if (f == null || f.equalsIgnoreCase("text")) {
      return;
    }
    if (!f.equalsIgnoreCase("json")) {
      throw new UserError("--log-format " + f + " is not a log format: give text or json");
    }
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAppender("STDERR");
    JsonEncoder encoder = new JsonEncoder();
    encoder.setContext(ctx);
    encoder.start();
    ConsoleAppender<ILoggingEvent> json = new ConsoleAppender<>();
    json.setContext(ctx);
    json.setName("STDERR");
    json.setTarget("System.err");
    json.setEncoder(encoder);
    json.start();
    root.addAppender(json);
  }
}
