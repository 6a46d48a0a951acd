package io.pgfleet.common.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

/** Resolves secret references; messages name the variable or file, never the value. */
final class SecretRefs {
  private SecretRefs() {}

  static String resolve(FleetConfig.SecretRef ref) {
    if (ref.command() != null) {
      try {
        return SecretCommand.run(ref.command(), SecretCommand.TIMEOUT);
      } catch (SecretCommand.FailedException e) {
        throw new ConfigException(e.getMessage());
      }
    }
    if (ref.env() != null) {
      String v = System.getenv(ref.env());
      if (v == null || v.isEmpty()) {
        throw new ConfigException("environment variable " + ref.env() + " is not set (or empty): set it to the secret,"
            + " or point the configuration at a file instead");
      }
      return v;
    }
    try {
      String v = Files.readString(ref.file(), StandardCharsets.UTF_8).strip();
      if (v.isEmpty()) {
        throw new ConfigException("secret file " + ref.file() + " is empty: write the secret into it");
      }
      return v;
    } catch (IOException e) {
      throw new ConfigException("cannot read secret file " + ref.file() + " (" + e.getClass().getSimpleName()
          + "): check that it exists and this process may read it");
    }
  }
}
