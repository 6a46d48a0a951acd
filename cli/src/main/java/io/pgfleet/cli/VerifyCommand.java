package io.pgfleet.cli;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.BackupLocks;
import io.pgfleet.common.repository.BackupVerifier;
import io.pgfleet.common.storage.Storage;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "verify", description = {"Re-read every artifact of a backup and check its size and SHA-256; "
    + "with the key of an encrypted backup, also decrypt each artifact on the way, checking every chunk's tag."})
final class VerifyCommand implements Callable<Integer> {
  @Mixin
  BackupSelection selection;

  @Mixin
  EncryptionKeyOption encryption;

  @Override
  public Integer call() throws Exception {
    Storage storage = selection.open();
    // With the key, opening authenticates the manifest's sealed part too, and checks it against the clear list.
    EncryptionKeyOption.Opened opened = encryption.openIfKeyGiven(selection.find(storage));
    Manifest m = opened.manifest();
    ArtifactCipher cipher = opened.cipher();
    BackupVerifier.Result r;
    // Locked while read, so retention does not delete it under us.
    try (BackupLocks.Lock lock = BackupSelection.lock(storage, m, "verify")) {
      r = new BackupVerifier(storage).verify(m, cipher);
    }
    if (r.ok()) {
      System.out.printf("backup %s OK: %d artifacts, %s checked%s%n", m.backupId(), r.checked(),
          Formats.bytes(r.bytes()), !m.encrypted() ? "" : cipher.encrypts() ? ", every encrypted chunk authenticated"
              : " (encrypted: SHA-256 only; give its key to check every chunk's tag and the manifest's sealed"
                  + " part too)");
      return 0;
    }
    for (BackupVerifier.Problem p : r.problems()) {
      System.err.println("pgfleet: BAD artifact " + p);
    }
    System.err.printf("pgfleet: backup %s FAILED verification: %d of %d artifacts bad%n", m.backupId(),
        r.problems().size(), r.checked());
    return 1;
  }
}
