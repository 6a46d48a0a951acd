package io.pgfleet.it.support;

import io.pgfleet.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the real pgfleet command in this JVM and captures what it prints. */
public final class Cli {
  public record Result(int exitCode, String out, String err) {
    /** The lines pgfleet itself printed as errors. */
    public java.util.List<String> errorLines() {
      return err.lines().filter(l -> l.startsWith("pgfleet: error:")).toList();
    }
  }

  private Cli() {}

  public static synchronized Result run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
         PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      System.setOut(o);
      System.setErr(e);
      rc = Main.run(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    Result r = new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    oldErr.println("$ pgfleet " + String.join(" ", args).replaceAll(":[^:@/]*@", ":***@") + "\n-> exit " + rc
        + "\n" + r.out() + r.err());
    return r;
  }
}
