package io.pgfleet.it.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * pgfleet fleet processes (coordinators, workers) as separate JVMs started from the built distribution
 * ({@code target/pgfleet.jar}), each logging to its own file under {@code target/it-logs/}. Killed with SIGKILL
 * where a test needs a crash, stopped with SIGTERM otherwise.
 */
public final class FleetProcesses implements AutoCloseable {
  private static final Pattern API = Pattern.compile("API on http://[^:]+:(\\d+)");
  private static final Pattern METRICS = Pattern.compile("metrics on http://[^:]+:(\\d+)");
  private final Map<String, Process> processes = new LinkedHashMap<>();
  private final Map<String, Path> logs = new LinkedHashMap<>();
  private final Map<String, String> env;
  private final Path logDir;

  public FleetProcesses(String testName, Map<String, String> env) throws IOException {
    this.env = Map.copyOf(env);
    this.logDir = Path.of("target", "it-logs", testName);
    Files.createDirectories(logDir);
  }

  /** Starts {@code pgfleet <args>} as process {@code name}. */
  public Process start(String name, String... args) throws IOException {
    return start(name, List.of(), args);
  }

  /**
   * Starts {@code pgfleet <args>} as process {@code name}, with {@code jvmOptions} after the defaults
   * ({@code -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}), so a later {@code -Xmx} or a GC log wins.
   */
  public Process start(String name, List<String> jvmOptions, String... args) throws IOException {
    Path jar = Path.of("target", "pgfleet.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar.toAbsolutePath() + " is missing: the ITs run after `mvn package`");
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar.toString(), "--verbose"));
    cmd.addAll(List.of(args));
    Path log = logDir.resolve(name + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    pb.environment().putAll(env);
    Process p = pb.start();
    processes.put(name, p);
    logs.put(name, log);
    return p;
  }

  /** Waits for a coordinator's "API on http://host:port" line and returns the port. */
  public int apiPort(String name, Duration timeout) throws IOException, InterruptedException {
    return port(name, API, timeout);
  }

  /** Waits for a worker's "metrics on http://host:port" line and returns the port. */
  public int metricsPort(String name, Duration timeout) throws IOException, InterruptedException {
    return port(name, METRICS, timeout);
  }

  private int port(String name, Pattern pattern, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int seen = 0;
    while (System.nanoTime() < deadline) {
      String text = Files.readString(logs.get(name));
      Matcher m = pattern.matcher(text.substring(Math.min(seen, text.length())));
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      if (!processes.get(name).isAlive()) {
        throw new AssertionError(name + " exited with " + processes.get(name).exitValue() + ":\n" + tail(name));
      }
      Thread.sleep(200);
    }
    throw new AssertionError(name + " did not start its API within " + timeout.toSeconds() + " s:\n" + tail(name));
  }

  /** Waits until a process's log holds {@code text}. */
  public void awaitLog(String name, String text, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!Files.readString(logs.get(name)).contains(text)) {
      if (System.nanoTime() > deadline || !processes.get(name).isAlive()) {
        throw new AssertionError(name + " did not log '" + text + "' within " + timeout.toSeconds() + " s:\n"
            + tail(name));
      }
      Thread.sleep(200);
    }
  }

  /** Everything a process has logged so far. */
  public String log(String name) throws IOException {
    return Files.readString(logs.get(name));
  }

  /** The last lines of a process's log, for failure messages. */
  public String tail(String name) {
    try {
      List<String> lines = Files.readAllLines(logs.get(name));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** SIGKILL: no shutdown hook, no goodbye to the group or the database. */
  public void kill(String name) throws InterruptedException {
    Process p = processes.get(name);
    p.destroyForcibly();
    p.waitFor();
  }

  /** The operating system's process id, for tools such as {@code jcmd}. */
  public long pid(String name) {
    return processes.get(name).pid();
  }

  /** The directory the processes log to. */
  public Path logDir() {
    return logDir;
  }

  public boolean alive(String name) {
    return processes.get(name).isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    processes.values().forEach(Process::destroy);
    for (Process p : processes.values()) {
      if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }
}
