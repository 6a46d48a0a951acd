package io.pgfleet.common.crypto;

import io.pgfleet.common.manifest.BackupEncryption;
import java.io.InputStream;
import java.io.OutputStream;
import javax.crypto.SecretKey;

/**
 * How one backup's artifacts are stored: as they are ({@link #NONE}) or encrypted with the backup's data key in
 * the chunked format of {@link EncryptingOutputStream}. The object key given to {@link #encrypt} and
 * {@link #decrypt} is the artifact's key relative to the backup folder (the manifest's {@code key}), which every
 * chunk's tag binds, so an artifact moved to another key no longer decrypts.
 */
public final class ArtifactCipher {
  public static final String FORMAT = "aes256gcm-chunked-v1";
  public static final ArtifactCipher NONE = new ArtifactCipher(null, null);

  private final SecretKey dataKey;
  private final BackupEncryption record;

  ArtifactCipher(SecretKey dataKey, BackupEncryption record) {
    this.dataKey = dataKey;
    this.record = record;
  }

  /** The cipher of a backup whose manifest (or task) says {@code e}; {@link #NONE} for null. */
  public static ArtifactCipher forBackup(BackupEncryption e, MasterKey master, String what)
      throws DataKeys.WrongKeyException {
    return e == null ? NONE : DataKeys.unwrap(master, e, what);
  }

  /** The backup's data key, for {@link ManifestSeal}; null when not encrypting. */
  SecretKey dataKey() {
    return dataKey;
  }

  public boolean encrypts() {
    return dataKey != null;
  }

  /** The artifact entry's {@code encryption}: {@code none} or {@link #FORMAT}. */
  public String name() {
    return encrypts() ? FORMAT : "none";
  }

  /** The manifest's {@code encryption} record; null when not encrypting. */
  public BackupEncryption record() {
    return record;
  }

  /** A stream that stores into {@code out}; closing it ends the last chunk and closes {@code out}. */
  public OutputStream encrypt(OutputStream out, String objectKey) {
    return encrypts() ? new EncryptingOutputStream(out, dataKey, objectKey) : out;
  }

  /** The plain bytes of a stored object read from {@code in}. */
  public InputStream decrypt(InputStream in, String objectKey) {
    return encrypts() ? new DecryptingInputStream(in, dataKey, objectKey) : in;
  }

  @Override
  public String toString() {
    return encrypts() ? "ArtifactCipher[" + FORMAT + ", key " + record.keyId() + "]" : "ArtifactCipher[none]";
  }
}
