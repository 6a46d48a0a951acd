package io.pgfleet.common.config;

import java.util.List;

/** The configuration cannot be used; the message lists every problem found, one per line, each with its path. */
public final class ConfigException extends RuntimeException {
  private final List<String> problems;

  public ConfigException(String problem) {
    this(List.of(problem));
  }

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
