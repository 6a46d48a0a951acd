package io.pgfleet.common.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds PostgreSQL's client programs for a server version. pg_dump refuses servers newer than itself, and
 * pg_restore reads archives of its own version or older, so each task uses the tool of the server's major or the
 * closest newer one: configured directories first, then {@code /usr/lib/postgresql/<major>/bin}, then PATH.
 */
public final class PgTools {
  /** Colon-separated bin directories searched first. */
  public static final String DIRS_ENV = "PGFLEET_PG_BIN_DIRS";
  /** The same list as {@link #DIRS_ENV}, and wins over it: what a JVM can set for itself (in-process tests). */
  public static final String DIRS_PROPERTY = "pgfleet.pg.bin.dirs";
  /** {@code false}: search the configured directories only, not /usr/lib/postgresql nor PATH. */
  public static final String DEFAULTS_PROPERTY = "pgfleet.pg.bin.defaults";
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");
  private final List<Path> configuredDirs;
  private final boolean searchDefaults;
  private final Map<String, Map<Path, Integer>> cache = new LinkedHashMap<>();

  public PgTools(List<Path> configuredDirs) {
    this(configuredDirs, true);
  }

  /** With {@code searchDefaults} false only {@code configuredDirs} are searched, so the choice is deterministic. */
  public PgTools(List<Path> configuredDirs, boolean searchDefaults) {
    this.configuredDirs = List.copyOf(configuredDirs);
    this.searchDefaults = searchDefaults;
  }

  public static PgTools fromEnvironment() {
    List<Path> dirs = new ArrayList<>();
    String env = System.getProperty(DIRS_PROPERTY, System.getenv(DIRS_ENV));
    if (env != null && !env.isBlank()) {
      for (String d : env.split(":")) {
        if (!d.isBlank()) {
          dirs.add(Path.of(d));
        }
      }
    }
    return new PgTools(dirs, !"false".equalsIgnoreCase(System.getProperty(DEFAULTS_PROPERTY)));
  }

  /** The program for a server of this version, or a one-line error naming what was found and what to install. */
  public synchronized Path find(String program, int serverVersionNum) throws ToolNotFoundException {
    int major = serverVersionNum / 10000;
    Map<Path, Integer> found = candidates(program);
    Optional<Map.Entry<Path, Integer>> best = found.entrySet().stream()
        .filter(e -> e.getValue() >= major)
        .min(Comparator.comparingInt(Map.Entry::getValue));
    if (best.isPresent()) {
      return best.get().getKey();
    }
    String seen = found.isEmpty() ? "none" : found.entrySet().stream()
        .map(e -> e.getValue() + " (" + e.getKey() + ")").reduce((a, b) -> a + ", " + b).orElse("");
    throw new ToolNotFoundException("no " + program + " for a PostgreSQL " + major + " server: found " + seen
        + "; install the PostgreSQL " + major + " client (e.g. postgresql-client-" + major
        + ") or list its bin directory in " + DIRS_ENV);
  }

  /** The major version of a program {@link #find} returned. */
  public synchronized int major(String program, Path found) {
    Integer v = candidates(program).get(found);
    if (v == null) {
      throw new IllegalArgumentException(found + " was not found by this PgTools as " + program);
    }
    return v;
  }

  private Map<Path, Integer> candidates(String program) {
    return cache.computeIfAbsent(program, p -> {
      List<Path> paths = new ArrayList<>();
      for (Path d : configuredDirs) {
        paths.add(d.resolve(p));
      }
      Path debian = Path.of("/usr/lib/postgresql");
      if (searchDefaults && Files.isDirectory(debian)) {
        try (Stream<Path> s = Files.list(debian)) {
          s.sorted().forEach(v -> paths.add(v.resolve("bin").resolve(p)));
        } catch (IOException ignored) {
          // no Debian layout
        }
      }
      String path = System.getenv("PATH");
      if (searchDefaults && path != null) {
        for (String d : path.split(":")) {
          if (!d.isBlank()) {
            paths.add(Path.of(d).resolve(p));
          }
        }
      }
      Map<Path, Integer> versions = new LinkedHashMap<>();
      java.util.Set<Path> seen = new java.util.HashSet<>();
      for (Path c : paths) {
        if (Files.isExecutable(c)) {
          try {
            // Run it by the name found (Debian's wrappers look at their own name), count each binary once.
            if (seen.add(c.toRealPath())) {
              version(c).ifPresent(v -> versions.put(c, v));
            }
          } catch (IOException ignored) {
            // vanished
          }
        }
      }
      return versions;
    });
  }

  /** Asks the program itself: Debian's /usr/bin/pg_dump is a wrapper whose version depends on its arguments. */
  private static Optional<Integer> version(Path program) {
    try {
      Process p = new ProcessBuilder(program.toString(), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      Matcher m = VERSION.matcher(out);
      return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  public static final class ToolNotFoundException extends Exception {
    public ToolNotFoundException(String message) {
      super(message);
    }
  }
}
