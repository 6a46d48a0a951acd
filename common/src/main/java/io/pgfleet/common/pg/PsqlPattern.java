package io.pgfleet.common.pg;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * psql's object name patterns, as pg_dump's {@code -n}, {@code -N}, {@code -t}, {@code -T} and
 * {@code --exclude-table-data} and pgfleet restore's selection take them: {@code name} or {@code schema.name},
 * {@code *} for any characters and {@code ?} for one, unquoted ASCII letters folded to lower case, double quotes
 * keeping case and making every character literal ({@code ""} inside quotes is one quote). Outside quotes the
 * other regular expression characters ({@code [0-9]}, {@code a|b}, {@code +}) keep their meaning, as in psql, and
 * {@code $} is literal.
 *
 * <p>The translation follows psql's {@code processSQLNamePattern} closely, because a pgfleet backup must select
 * the same tables for its COPY tasks as pg_dump selects for its schema archive.
 */
public final class PsqlPattern {
  private PsqlPattern() {}

  /**
   * True if the pattern matches the relation; a pattern without a dot matches a relation of that name in any schema
   * (a restore's rule: there is no search path to resolve it in).
   */
  public static boolean matchesRelation(String pattern, String schema, String name) {
    List<String> parts = split(pattern);
    if (parts.size() == 1) {
      return regex(parts.get(0)).matcher(name).matches();
    }
    return regex(parts.get(0)).matcher(schema).matches() && regex(parts.get(1)).matcher(name).matches();
  }

  /**
   * True if the pattern matches the relation as pg_dump's {@code -t}, {@code -T} and {@code --exclude-table-data}
   * match it: a pattern without a dot matches only a relation {@code visible} in the search path (psql's rule;
   * pg_dump resets the search path to the session's default before it expands patterns).
   */
  public static boolean matchesRelation(String pattern, String schema, String name, boolean visible) {
    List<String> parts = split(pattern);
    if (parts.size() == 1) {
      return visible && regex(parts.get(0)).matcher(name).matches();
    }
    return regex(parts.get(0)).matcher(schema).matches() && regex(parts.get(1)).matcher(name).matches();
  }

  /** True if a one-part pattern (a schema pattern) matches the name; an unquoted dot in it is taken literally. */
  public static boolean matchesName(String pattern, String name) {
    return regex(pattern).matcher(name).matches();
  }

  /** Throws IllegalArgumentException with a one-line message if the relation pattern cannot be read. */
  public static void check(String pattern) {
    for (String part : split(pattern)) {
      regex(part);
    }
  }

  /**
   * Throws IllegalArgumentException with a one-line message if the schema pattern cannot be read or has an
   * unquoted dot (pg_dump would read {@code a.b} as database {@code a}, schema {@code b}).
   */
  public static void checkName(String pattern) {
    if (split(pattern).size() > 1) {
      throw new IllegalArgumentException("schema pattern '" + pattern + "' has a dot: give a schema name only"
          + " (double-quote a name that contains a dot)");
    }
    regex(pattern);
  }

  /** Splits at the dot outside double quotes; more than one such dot is an error. */
  static List<String> split(String pattern) {
    List<Integer> dots = new ArrayList<>();
    boolean quoted = false;
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '"') {
        quoted = !quoted;
      } else if (c == '.' && !quoted) {
        dots.add(i);
      }
    }
    if (dots.size() > 1) {
      throw new IllegalArgumentException("pattern '" + pattern + "' has more than one dot: give name or schema.name"
          + " (double-quote names that contain dots)");
    }
    if (dots.isEmpty()) {
      return List.of(pattern);
    }
    int d = dots.get(0);
    return List.of(pattern.substring(0, d), pattern.substring(d + 1));
  }

  static Pattern regex(String part) {
    StringBuilder re = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c == '"') {
        if (quoted && i + 1 < part.length() && part.charAt(i + 1) == '"') {
          re.append(Pattern.quote("\""));
          i++;
        } else {
          quoted = !quoted;
        }
      } else if (quoted) {
        re.append(Pattern.quote(String.valueOf(c)));
      } else if (c == '*') {
        re.append(".*");
      } else if (c == '?') {
        re.append('.');
      } else if (c == '.' || c == '$') {
        re.append('\\').append(c);
      } else if (c >= 'A' && c <= 'Z') {
        // Only ASCII: psql folds byte by byte, as the server folds unquoted identifiers in a multibyte encoding.
        re.append((char) (c + ('a' - 'A')));
      } else {
        // Raw, as psql passes it: regular expression characters keep their meaning ([0-9], a|b, x+).
        re.append(c);
      }
    }
    if (quoted) {
      throw new IllegalArgumentException("pattern '" + part + "' has an unclosed double quote");
    }
    try {
      return Pattern.compile("(?:" + re + ")", Pattern.DOTALL);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException("pattern '" + part + "' is not a valid psql pattern: "
          + e.getDescription() + " (double-quote names that contain |+()[]{}^\\)");
    }
  }
}
