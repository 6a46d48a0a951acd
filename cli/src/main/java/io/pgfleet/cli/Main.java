package io.pgfleet.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.pgfleet.common.pg.InvalidPgUrlException;
import java.io.PrintWriter;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code pgfleet} command. */
@Command(name = "pgfleet", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Snapshot-consistent, parallel backups of PostgreSQL databases through Kafka.",
    subcommands = {BackupCommand.class, ListCommand.class, ShowCommand.class, RestoreCommand.class, RestoreTestCommand.class, VerifyCommand.class, DecryptCommand.class,
        RetentionCommand.class,
        CoordinatorCommand.class, WorkerCommand.class, StandaloneCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Log what happens (INFO).")
  void verbose(boolean on) {
    if (on) {
      ((Logger) LoggerFactory.getLogger("io.pgfleet")).setLevel(Level.INFO);
    }
  }

  @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces of unexpected errors.")
  static boolean debug;

  public static void main(String[] args) {
    int rc = run(args);
    System.exit(rc);
  }

  /** Runs a command and returns its exit code: 0 success, 1 failure, 2 bad usage. */
  public static int run(String... args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      PrintWriter err = cmd.getErr();
      err.println("pgfleet: error: " + message(ex));
      if (debug) {
        ex.printStackTrace(err);
      }
      err.flush();
      return 1;
    });
    return cli.execute(args);
  }

  static String message(Throwable ex) {
    if (ex instanceof UserError || ex instanceof InvalidPgUrlException
        || ex instanceof io.pgfleet.coordinator.run.BackupFailedException) {
      return ex.getMessage();
    }
    String m = ex.getMessage();
    return ex.getClass().getSimpleName() + (m == null ? "" : ": " + m.replaceAll("\\s*\\R\\s*", " "))
        + " (unexpected; rerun with --debug for details)";
  }

  static String version() {
    String v = Main.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"pgfleet " + version()};
    }
  }
}
