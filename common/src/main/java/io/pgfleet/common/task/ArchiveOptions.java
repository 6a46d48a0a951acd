package io.pgfleet.common.task;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a pg_dump archive run asks of pg_dump: the format, the parallel jobs of a directory archive, and the
 * selection flags. Tasks arrive from Kafka, so every flag is checked against a closed list here, on every decode:
 * nothing but these selection flags can reach pg_dump's command line, and a value can never pass for a flag.
 *
 * @param format {@code plain}, {@code custom} or {@code directory}
 * @param jobs pg_dump {@code -j} for a directory archive (1 to 64); 1 for the other formats
 * @param args selection flags in pg_dump's one-token form: {@code --data-only}, {@code --schema-only}, or
 *     {@code --schema=P}, {@code --exclude-schema=P}, {@code --table=P}, {@code --exclude-table=P},
 *     {@code --exclude-table-data=P} with a non-empty pattern P that does not start with '-'
 */
public record ArchiveOptions(String format, int jobs, List<String> args) {
  public static final List<String> FORMATS = List.of("plain", "custom", "directory");
  public static final int MAX_JOBS = 64;
  private static final Set<String> SWITCHES = Set.of("--data-only", "--schema-only");
  private static final List<String> WITH_PATTERN = List.of("--schema=", "--exclude-schema=", "--table=",
      "--exclude-table=", "--exclude-table-data=");
  private static final int MAX_PATTERN = 1024;

  public ArchiveOptions {
    Objects.requireNonNull(format, "format");
    if (!FORMATS.contains(format)) {
      throw new IllegalArgumentException("archive format '" + format + "' is not one of " + FORMATS);
    }
    if (jobs < 1 || jobs > MAX_JOBS) {
      throw new IllegalArgumentException("archive jobs " + jobs + " out of range: give 1 to " + MAX_JOBS);
    }
    if (jobs > 1 && !format.equals("directory")) {
      throw new IllegalArgumentException("parallel pg_dump jobs need the directory format, not " + format);
    }
    args = List.copyOf(args == null ? List.of() : args);
    for (String a : args) {
      check(a);
    }
    if (args.contains("--data-only") && args.contains("--schema-only")) {
      throw new IllegalArgumentException("--data-only and --schema-only exclude each other: give one of them");
    }
  }

  /** Throws a one-line IllegalArgumentException unless {@code arg} is an allowed selection flag with a sane value. */
  public static void check(String arg) {
    if (arg == null) {
      throw new IllegalArgumentException("empty pg_dump argument");
    }
    if (SWITCHES.contains(arg)) {
      return;
    }
    for (String flag : WITH_PATTERN) {
      if (arg.startsWith(flag)) {
        checkPattern(flag.substring(0, flag.length() - 1), arg.substring(flag.length()));
        return;
      }
    }
    throw new IllegalArgumentException("pg_dump argument '" + printable(arg) + "' is not allowed: only "
        + SWITCHES.stream().sorted().toList() + " and " + WITH_PATTERN.stream().map(f -> f + "PATTERN").toList());
  }

  private static void checkPattern(String flag, String pattern) {
    if (pattern.isEmpty()) {
      throw new IllegalArgumentException(flag + " needs a pattern (name, schema.name, * and ?), got an empty one");
    }
    if (pattern.startsWith("-")) {
      throw new IllegalArgumentException(flag + " pattern '" + printable(pattern)
          + "' starts with '-': a pattern cannot look like an option");
    }
    if (pattern.length() > MAX_PATTERN) {
      throw new IllegalArgumentException(flag + " pattern is longer than " + MAX_PATTERN + " characters");
    }
    if (pattern.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException(flag + " pattern '" + printable(pattern)
          + "' holds a control character (newline, tab, ...)");
    }
  }

  private static String printable(String s) {
    String p = s.replaceAll("\\p{Cntrl}", "?");
    return p.length() > 80 ? p.substring(0, 80) + "..." : p;
  }

  /** pg_dump's {@code --format} value. */
  public String pgDumpFormat() {
    return format.equals("plain") ? "p" : format.equals("custom") ? "c" : "d";
  }

  /** The manifest kind of this archive's objects: {@code pg-dump-plain}, {@code pg-dump-custom}, {@code pg-dump-directory}. */
  public String artifactKind() {
    return "pg-dump-" + format;
  }

  /** The key of the archive below the backup folder, for one execution: a file, or a folder for directory format. */
  public String archiveName(String executionId) {
    return switch (format) {
      case "plain" -> "archive." + executionId + ".sql";
      case "custom" -> "archive." + executionId + ".dump";
      default -> "archive." + executionId + "/";
    };
  }

  /** Whether a pattern that selects (rather than excludes) is present: pg_dump then runs with --strict-names. */
  public boolean selects() {
    return args.stream().anyMatch(a -> a.startsWith("--schema=") || a.startsWith("--table="));
  }
}
