package io.pgfleet.cli;

import io.pgfleet.common.config.SecretCommand;
import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.manifest.Manifest;
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

  /** A backup's manifest, its sealed part opened where a key was given, and the cipher of its artifacts. */
  record Opened(Manifest manifest, ArtifactCipher cipher) {}

  /**
   * Opens an encrypted backup with the key given, if one is: its artifacts' cipher, and its manifest with the sealed
   * part authenticated and checked against the clear artifact list. An unencrypted backup, or no key, leaves the
   * manifest as stored and the cipher {@link ArtifactCipher#NONE}. A wrong key or a damaged sealed part is a
   * {@link UserError}.
   */
  Opened openIfKeyGiven(Manifest m) {
    MasterKey key = m.encrypted() ? key() : null;
    if (key == null) {
      return new Opened(m, ArtifactCipher.NONE);
    }
    try {
      ArtifactCipher cipher = ArtifactCipher.forBackup(m.encryption(), key, "backup " + m.backupId());
      return new Opened(ManifestSeal.open(m, cipher), cipher);
    } catch (DataKeys.WrongKeyException e) {
      throw new UserError(e.getMessage());
    }
  }
}
