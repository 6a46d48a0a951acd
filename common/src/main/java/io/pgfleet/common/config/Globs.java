package io.pgfleet.common.config;

import java.util.regex.Pattern;

/** Glob patterns over names: {@code *} any run of characters, {@code ?} one; everything else literal. */
public final class Globs {
  private Globs() {}

  public static boolean matches(String glob, String name) {
    return toRegex(glob).matcher(name).matches();
  }

  public static Pattern toRegex(String glob) {
    StringBuilder re = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (char ch : glob.toCharArray()) {
      if (ch == '*' || ch == '?') {
        if (literal.length() > 0) {
          re.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        re.append(ch == '*' ? ".*" : ".");
      } else {
        literal.append(ch);
      }
    }
    if (literal.length() > 0) {
      re.append(Pattern.quote(literal.toString()));
    }
    return Pattern.compile(re.toString(), Pattern.DOTALL);
  }
}
