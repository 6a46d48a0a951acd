package io.pgfleet.cli;

import io.pgfleet.common.config.SecretCommand;
import io.pgfleet.common.crypto.MasterKey;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The master key of an encrypted repository: {@code --encryption-key-file FILE} or {@code --encryption-key-command
 * COMMAND} (a KMS or vault printing it), else {@value MasterKey#ENV}.
 */
final class EncryptionKeyOption {
  @Option(names = "--encryption-key-file", paramLabel = "FILE",
      description = "File holding the 32-byte master key as 64 hex digits or base64 (default: the key in "
          + MasterKey.ENV + ", if set). Make one with: head -c 32 /dev/urandom | base64")
  Path file;

  @Option(names = "--encryption-key-command", paramLabel = "COMMAND",
      description = "A command, run by /bin/sh -c, that prints the master key (hex or base64): the hook for a key"
          + " management service, e.g. 'aws kms decrypt --ciphertext-blob fileb://master.key.enc --query Plaintext"
          + " --output text'")
  String command;

  /** The key, or null when neither an option nor the environment gives one. */
  MasterKey key() {
    if (file != null && command != null) {
      throw new UserError("give --encryption-key-file or --encryption-key-command, not both");
    }
    try {
      if (command != null) {
        String printed = SecretCommand.run(List.of("/bin/sh", "-c", command), SecretCommand.TIMEOUT);
        return MasterKey.parse(printed, "the key printed by --encryption-key-command");
      }
      return MasterKey.resolve(file, System.getenv());
    } catch (MasterKey.InvalidKeyException | SecretCommand.FailedException e) {
      throw new UserError(e.getMessage());
    }
  }
}
