package io.pgfleet.cli;

import java.time.Duration;
import java.util.Locale;

/** Human-readable numbers for the CLI. */
final class Formats {
  private Formats() {}

  static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = b;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /**
   * A size as PostgreSQL writes memory settings: a number with an optional unit B, kB, MB, GB or TB (powers of
   * 1024, case-insensitive, "MiB" style accepted too).
   */
  static long parseSize(String option, String value) {
    var m = java.util.regex.Pattern.compile("(?i)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\\s*")
        .matcher(value);
    if (!m.matches()) {
      throw new UserError(option + " '" + value + "' is not a size: give a number with a unit, e.g. 256MB or 1GB");
    }
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    int shift = switch (unit.charAt(0)) {
      case 'k' -> 10;
      case 'm' -> 20;
      case 'g' -> 30;
      case 't' -> 40;
      default -> 0;
    };
    double bytes = n * Math.pow(2, shift);
    if (bytes < 1 || bytes > Long.MAX_VALUE / 2) {
      throw new UserError(option + " '" + value + "' is out of range: give at least 1 byte, e.g. 256MB");
    }
    return (long) bytes;
  }

  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  static String duration(Duration d) {
    long s = d.toSeconds();
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
