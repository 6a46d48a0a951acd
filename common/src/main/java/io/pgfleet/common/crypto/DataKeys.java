package io.pgfleet.common.crypto;

import io.pgfleet.common.manifest.BackupEncryption;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.AEADBadTagException;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * Per-backup data keys: a fresh random 256-bit key, stored only wrapped by the master key with AES-256-GCM (random
 * 12-byte nonce, AAD {@code pgfleet-data-key-v1}). A new key per backup means a leaked data key exposes one backup,
 * and rotating the master key needs no re-encryption of old artifacts, only the old key kept for them.
 */
public final class DataKeys {
  static final byte[] WRAP_AAD = "pgfleet-data-key-v1".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private DataKeys() {}

  /** A new data key for one backup and its manifest record. */
  public static ArtifactCipher newBackupKey(MasterKey master) {
    byte[] dk = new byte[32];
    RANDOM.nextBytes(dk);
    try {
      BackupEncryption e = new BackupEncryption(ArtifactCipher.FORMAT, master.keyId(),
          Base64.getEncoder().encodeToString(GcmMessage.seal(master.secretKey(), WRAP_AAD, dk)));
      return new ArtifactCipher(new SecretKeySpec(dk, "AES"), e);
    } finally {
      Arrays.fill(dk, (byte) 0);
    }
  }

  /**
   * The data key of a backup. {@code what} names the backup in errors, which say which key id is needed; the
   * master key is checked by id first, and by the wrap's tag (a key with a colliding id still fails).
   */
  public static ArtifactCipher unwrap(MasterKey master, BackupEncryption e, String what) throws WrongKeyException {
    if (!ArtifactCipher.FORMAT.equals(e.format())) {
      throw new WrongKeyException(what + " is encrypted in format '" + e.format() + "', which this pgfleet does not"
          + " read (it reads " + ArtifactCipher.FORMAT + ")");
    }
    if (master == null) {
      throw new WrongKeyException(what + " is encrypted with key " + e.keyId() + ": give that key with"
          + " --encryption-key-file FILE or " + MasterKey.ENV);
    }
    if (!master.keyId().equals(e.keyId())) {
      throw new WrongKeyException(what + " is encrypted with key " + e.keyId() + ", but the key given is "
          + master.keyId() + ": give the key with id " + e.keyId());
    }
    byte[] all;
    try {
      all = Base64.getDecoder().decode(e.wrappedKey());
    } catch (IllegalArgumentException x) {
      throw new WrongKeyException(what + ": the manifest's wrapped key is not base64; the manifest is damaged");
    }
    if (all.length != GcmMessage.NONCE_BYTES + 32 + GcmMessage.TAG_BYTES) {
      throw new WrongKeyException(what + ": the manifest's wrapped key has " + all.length
          + " bytes, not 60; the manifest is damaged");
    }
    byte[] dk;
    try {
      dk = GcmMessage.open(master.secretKey(), WRAP_AAD, all);
    } catch (AEADBadTagException x) {
      throw new WrongKeyException(what + ": key " + e.keyId() + " does not unwrap its data key (a different key"
          + " with the same id, or a damaged manifest)");
    }
    try {
      return new ArtifactCipher(new SecretKeySpec(dk, "AES"), e);
    } finally {
      Arrays.fill(dk, (byte) 0);
    }
  }

  /**
   * A missing, wrong or unusable key for an encrypted backup, or an encryption record or sealed manifest part that
   * is damaged; the message is one line naming the backup (and the key id where a key is the problem).
   */
  public static final class WrongKeyException extends Exception {
    public WrongKeyException(String message) {
      super(message);
    }
  }
}
