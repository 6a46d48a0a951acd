package io.pgfleet.common.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Walks a YAML tree and reads typed values by path, collecting a problem per bad value instead of stopping at the
 * first, so that one start reports everything wrong with a file. A bad value reads as its default (or null) and
 * the walk goes on; the caller throws when {@link #problems()} is not empty.
 */
final class ConfigReader {
  private static final Pattern PLAIN_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final String SECRET_SHAPE = "{env: VARIABLE}, {file: PATH} or {command: [PROGRAM, ARG...]}";

  private final Path baseDir;
  private final List<String> problems = new ArrayList<>();

  ConfigReader(Path baseDir) {
    this.baseDir = baseDir;
  }

  List<String> problems() {
    return problems;
  }

  void problem(String path, String message) {
    problems.add(path + ": " + message);
  }

  /** The top-level mapping (the caller has checked that it is one). */
  Section root(JsonNode node, List<String> keys) {
    return new Section(this, "", node, keys);
  }

  static String child(String path, String key) {
    String k = PLAIN_KEY.matcher(key).matches() ? key : "\"" + key.replace("\"", "\\\"") + "\"";
    if (path.isEmpty()) {
      return k;
    }
    return k.startsWith("\"") ? path + "[" + k + "]" : path + "." + k;
  }

  static String index(String path, int i) {
    return path + "[" + i + "]";
  }

  /** What a node is, for "expected X, got Y"; scalars are quoted, so never call this on a secret's value. */
  static String describe(JsonNode n) {
    if (n.isObject()) {
      return "a mapping";
    }
    if (n.isArray()) {
      return "a list";
    }
    String text = n.asText();
    return "'" + (text.length() > 60 ? text.substring(0, 57) + "..." : text) + "'";
  }

  static boolean absent(JsonNode n) {
    return n == null || n.isMissingNode() || n.isNull();
  }

  /**
   * One mapping of the file. An absent section reads as all defaults and does not report its required keys (the
   * caller reports the section itself when it is required); a section that is not a mapping is reported once
   * and then reads the same way.
   */
  static final class Section {
    private final ConfigReader reader;
    private final String path;
    private final JsonNode node;
    private final boolean present;

    Section(ConfigReader reader, String path, JsonNode node, List<String> keys) {
      this.reader = reader;
      this.path = path;
      boolean ok = !absent(node);
      if (ok && !node.isObject()) {
        reader.problem(path, "expected a mapping with keys " + String.join(", ", keys) + ", got " + describe(node));
        ok = false;
      }
      this.present = ok;
      this.node = ok ? node : null;
      if (ok) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
          String key = it.next();
          if (!keys.contains(key)) {
            String hint = closest(key, keys);
            reader.problem(child(path, key), "unknown key; expected one of: " + String.join(", ", keys)
                + (hint == null ? "" : " (did you mean " + hint + "?)"));
          }
        }
      }
    }

    boolean present() {
      return present;
    }

    String path() {
      return path;
    }

    String path(String key) {
      return child(path, key);
    }

    boolean has(String key) {
      return present && !absent(node.get(key));
    }

    JsonNode get(String key) {
      return present ? node.get(key) : null;
    }

    Section section(String key, List<String> keys) {
      return new Section(reader, path(key), get(key), keys);
    }

    /** A required key is missing: reported only when this section is there, else its own absence says it. */
    private void missing(String key, String hint) {
      if (present) {
        reader.problem(path(key), "required; " + hint);
      }
    }

    String string(String key) {
      JsonNode n = get(key);
      if (absent(n)) {
        return null;
      }
      if (n.isContainerNode()) {
        reader.problem(path(key), "expected a string, got " + describe(n));
        return null;
      }
      String s = n.asText().strip();
      if (s.isEmpty()) {
        reader.problem(path(key), "must not be empty; give a value or leave the key out");
        return null;
      }
      return s;
    }

    String requiredString(String key, String hint) {
      if (!has(key)) {
        missing(key, hint);
        return null;
      }
      return string(key);
    }

    /** A string matching {@code pattern}; {@code rule} says in words what the pattern allows. */
    String matching(String key, Pattern pattern, String rule) {
      String s = string(key);
      if (s != null && !pattern.matcher(s).matches()) {
        reader.problem(path(key), "'" + s + "' is not valid: " + rule);
        return null;
      }
      return s;
    }

    String oneOf(String key, List<String> allowed) {
      String s = string(key);
      if (s != null && !allowed.contains(s)) {
        reader.problem(path(key), "'" + s + "' is not one of: " + String.join(", ", allowed));
        return null;
      }
      return s;
    }

    long integer(String key, long def, long min, long max) {
      JsonNode n = get(key);
      if (absent(n)) {
        return def;
      }
      BigInteger v = null;
      if (n.isIntegralNumber()) {
        v = n.bigIntegerValue();
      } else if (n.isTextual()) {
        try {
          v = new BigInteger(n.asText().strip());
        } catch (NumberFormatException e) {
          // reported below
        }
      }
      if (v == null) {
        reader.problem(path(key), "expected an integer, got " + describe(n));
        return def;
      }
      if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
        reader.problem(path(key), "must be between " + min + " and " + max + ", got " + v);
        return def;
      }
      return v.longValue();
    }

    Duration duration(String key, Duration def) {
      JsonNode n = get(key);
      if (absent(n)) {
        return def;
      }
      String hint = "expected a duration such as 30s, 2m, 1h, 7d, 500ms or PT2M, got " + describe(n);
      if (n.isContainerNode()) {
        reader.problem(path(key), hint);
        return def;
      }
      String s = n.asText().strip();
      Duration d = null;
      Matcher m = DURATION.matcher(s.toLowerCase(Locale.ROOT));
      try {
        if (m.matches()) {
          long amount = Long.parseLong(m.group(1));
          d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "d" -> Duration.ofDays(amount);
            default -> Duration.ofHours(amount);
          };
        } else if (s.toUpperCase(Locale.ROOT).startsWith("P")) {
          d = Duration.parse(s);
        }
      } catch (NumberFormatException | ArithmeticException | DateTimeParseException e) {
        d = null;
      }
      if (d == null) {
        reader.problem(path(key), hint + (n.isNumber() ? " (give a unit: " + s + "s)" : ""));
        return def;
      }
      if (d.isNegative() || d.isZero()) {
        reader.problem(path(key), "must be longer than zero, got " + s);
        return def;
      }
      return d;
    }

    /** A list of non-empty strings; absent gives {@code def}. */
    List<String> strings(String key, List<String> def) {
      JsonNode n = get(key);
      if (absent(n)) {
        return def;
      }
      if (!n.isArray()) {
        reader.problem(path(key), "expected a list of strings such as [a, b], got " + describe(n));
        return def;
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        JsonNode e = n.get(i);
        String p = index(path(key), i);
        if (absent(e) || e.isContainerNode()) {
          reader.problem(p, "expected a string, got " + (absent(e) ? "nothing" : describe(e)));
        } else if (e.asText().isBlank()) {
          reader.problem(p, "must not be empty");
        } else {
          out.add(e.asText().strip());
        }
      }
      return List.copyOf(out);
    }

    /** A mapping whose keys are free (names, patterns), each value read by {@code value}; null drops it. */
    <T> Map<String, T> entries(String key, EntryReader<T> value) {
      JsonNode n = get(key);
      Map<String, T> out = new LinkedHashMap<>();
      if (absent(n)) {
        return out;
      }
      if (!n.isObject()) {
        reader.problem(path(key), "expected a mapping, got " + describe(n));
        return out;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String p = child(path(key), e.getKey());
        if (e.getKey().isBlank()) {
          reader.problem(p, "an empty key is not allowed");
          continue;
        }
        T v = value.read(e.getKey(), p, e.getValue());
        if (v != null) {
          out.put(e.getKey(), v);
        }
      }
      return out;
    }

    Path pathValue(String key) {
      String s = string(key);
      return s == null ? null : reader.resolve(path(key), s);
    }

    List<Path> paths(String key) {
      List<String> raw = strings(key, List.of());
      List<Path> out = new ArrayList<>();
      for (int i = 0; i < raw.size(); i++) {
        Path p = reader.resolve(index(path(key), i), raw.get(i));
        if (p != null) {
          out.add(p);
        }
      }
      return List.copyOf(out);
    }

    /** A secret by reference; {@code noun} names it in the refusal of an inline value ("password"). */
    FleetConfig.SecretRef secret(String key, String noun) {
      return reader.secret(path(key), get(key), noun);
    }
  }

  interface EntryReader<T> {
    T read(String key, String path, JsonNode value);
  }

  /** Reads {@code {env: NAME}} or {@code {file: PATH}}. No message here ever quotes what the node holds. */
  FleetConfig.SecretRef secret(String path, JsonNode n, String noun) {
    if (absent(n)) {
      return null;
    }
    if (!n.isObject()) {
      if (n.isArray()) {
        problem(path, "expected " + SECRET_SHAPE + ", got a list");
      } else {
        problem(path, "an inline " + noun + " is refused: give " + SECRET_SHAPE);
      }
      return null;
    }
    List<String> keys = List.of("env", "file", "command");
    boolean unknown = false;
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!keys.contains(key)) {
        problem(child(path, key), "unknown key; a secret is given as " + SECRET_SHAPE);
        unknown = true;
      }
    }
    boolean hasEnv = !absent(n.get("env"));
    boolean hasFile = !absent(n.get("file"));
    boolean hasCommand = !absent(n.get("command"));
    int given = (hasEnv ? 1 : 0) + (hasFile ? 1 : 0) + (hasCommand ? 1 : 0);
    if (given > 1) {
      problem(path, "give exactly one of env, file or command, not " + given);
      return null;
    }
    if (given == 0) {
      if (!unknown) {
        problem(path, "give one of env, file or command: " + SECRET_SHAPE);
      }
      return null;
    }
    if (hasCommand) {
      return secretCommand(child(path, "command"), n.get("command"));
    }
    JsonNode v = hasEnv ? n.get("env") : n.get("file");
    String p = child(path, hasEnv ? "env" : "file");
    if (v.isContainerNode() || v.asText().isBlank()) {
      problem(p, "expected " + (hasEnv ? "the name of an environment variable" : "a file path"));
      return null;
    }
    String text = v.asText().strip();
    if (hasEnv) {
      if (!ENV_NAME.matcher(text).matches()) {
        problem(p, "not a valid environment variable name: use letters, digits and _, not starting with a digit");
        return null;
      }
      return new FleetConfig.SecretRef(text, null);
    }
    Path file = resolve(p, text);
    return file == null ? null : new FleetConfig.SecretRef(null, file);
  }

  /** A list of arguments (run as they are), or one string (run by /bin/sh -c). */
  private FleetConfig.SecretRef secretCommand(String p, JsonNode c) {
    List<String> argv = new java.util.ArrayList<>();
    if (c.isTextual()) {
      if (c.asText().isBlank()) {
        problem(p, "expected a program and its arguments, e.g. [aws, kms, decrypt, ...], or one shell command line");
        return null;
      }
      argv.addAll(List.of("/bin/sh", "-c", c.asText()));
    } else if (c.isArray() && !c.isEmpty()) {
      for (int i = 0; i < c.size(); i++) {
        JsonNode a = c.get(i);
        if (!a.isValueNode() || a.isNull() || (i == 0 && a.asText().isBlank())) {
          problem(p + "[" + i + "]", i == 0 ? "expected the program's name or path" : "expected a string");
          return null;
        }
        argv.add(a.asText());
      }
    } else {
      problem(p, "expected a program and its arguments, e.g. [aws, kms, decrypt, ...], or one shell command line");
      return null;
    }
    return new FleetConfig.SecretRef(null, null, List.copyOf(argv));
  }

  Path resolve(String path, String text) {
    try {
      return baseDir.resolve(text).normalize();
    } catch (InvalidPathException e) {
      problem(path, "not a valid path: " + e.getReason());
      return null;
    }
  }

  /** The expected key closest to a misspelt one, if it is close enough to be a typo. */
  static String closest(String key, List<String> keys) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : keys) {
      int d = distance(key.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    return bestDistance <= Math.max(1, Math.min(2, key.length() / 4)) ? best : null;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
