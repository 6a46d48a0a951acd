package io.pgfleet.cli;

import io.pgfleet.common.crypto.MasterKey;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The master key of an encrypted repository: {@code --encryption-key-file FILE}, else {@value MasterKey#ENV}. */
final class EncryptionKeyOption {
  @Option(names = "--encryption-key-file", paramLabel = "FILE",
      description = "File holding the 32-byte master key as 64 hex digits or base64 (default: the key in "
          + MasterKey.ENV + ", if set). Make one with: head -c 32 /dev/urandom | base64")
  Path file;

  /** The key, or null when neither the option nor the environment gives one. */
  MasterKey key() {
    try {
      return MasterKey.resolve(file, System.getenv());
    } catch (MasterKey.InvalidKeyException e) {
      throw new UserError(e.getMessage());
    }
  }
}
