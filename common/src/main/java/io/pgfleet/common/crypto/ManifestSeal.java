package io.pgfleet.common.crypto;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.manifest.SealedFields;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.repository.RestoreTestReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.AEADBadTagException;

/**
 * Seals and opens the client-describing parts of an encrypted backup's manifest and of its restore test results
 * (docs/repository-format.md, "The manifest's sealed part"). A sealed part is one AES-256-GCM message under the
 * backup's data key: base64 of a random 12-byte nonce, then the ciphertext of the JSON (UTF-8: {@link SealedFields}
 * for a manifest, {@link RestoreTestReport.SealedResults} for a result) and the 16-byte tag. A manifest's AAD is
 * {@value #AAD_PREFIX} followed by the backup id, so a sealed part moved into another backup's manifest (even with
 * that backup's encryption record) does not open. A manifest is small enough to be one message; the chunked
 * artifact format is for streams. Every failure is a {@link DataKeys.WrongKeyException} with a one-line message.
 */
public final class ManifestSeal {
  static final String AAD_PREFIX = "pgfleet-sealed-manifest-v1:";
  static final String REPORT_AAD_PREFIX = "pgfleet-sealed-report-v1:";

  private ManifestSeal() {}

  /** {@code full} as an encrypted backup stores it; unchanged when {@code cipher} does not encrypt. */
  public static Manifest seal(Manifest full, ArtifactCipher cipher) {
    if (!cipher.encrypts()) {
      return full;
    }
    byte[] plain = Json.write(full.sealedFields()).getBytes(StandardCharsets.UTF_8);
    return full.sealedAs(seal(plain, cipher, aad(full.backupId())));
  }

  /**
   * The manifest with its sealed part opened by the backup's {@code cipher}; {@code m} itself when it has none
   * (an unencrypted backup, or one written before pgfleet sealed manifests).
   *
   * @throws DataKeys.WrongKeyException when the sealed part does not authenticate (tampered with, or another
   *     backup's) or does not match the clear part; the message is one line naming the backup
   */
  public static Manifest open(Manifest m, ArtifactCipher cipher) throws DataKeys.WrongKeyException {
    if (!m.hasSealedPart()) {
      return m;
    }
    String what = "backup " + m.backupId();
    byte[] plain = open(m.sealed(), cipher, aad(m.backupId()), what + ": the manifest's", "the manifest");
    SealedFields f;
    try {
      f = Json.read(plain, SealedFields.class);
    } catch (IOException e) {
      throw new DataKeys.WrongKeyException(what + ": the manifest's sealed part authenticates but is not the JSON"
          + " this pgfleet reads (" + e.getMessage().lines().findFirst().orElse("") + ")");
    }
    try {
      return m.unsealedWith(f);
    } catch (IllegalArgumentException e) {
      throw new DataKeys.WrongKeyException(what + ": " + e.getMessage() + "; the manifest's clear part was changed"
          + " and cannot be trusted");
    }
  }

  /**
   * The manifest opened with the master key: unwraps the data key, then opens the sealed part. Errors are
   * {@link DataKeys#unwrap}'s (no key, another key id, a key that does not unwrap) or {@link #open}'s.
   */
  public static Manifest open(Manifest m, MasterKey master) throws DataKeys.WrongKeyException {
    if (!m.hasSealedPart()) {
      return m;
    }
    return open(m, ArtifactCipher.forBackup(m.encryption(), master, "backup " + m.backupId()));
  }

  /**
   * The manifest opened when {@code master} is its key, else {@code m} as it is: for views that show what they can
   * (lists, the API, metrics), where a backup under a rotated-out key still lists with its sizes and times.
   */
  public static Manifest openIfPossible(Manifest m, MasterKey master) {
    if (!m.hasSealedPart() || master == null || m.encryption() == null
        || !master.keyId().equals(m.encryption().keyId())) {
      return m;
    }
    try {
      return open(m, master);
    } catch (DataKeys.WrongKeyException e) {
      return m;
    }
  }

  /**
   * {@code full} with its tables, assertions and failures also sealed (kept in the clear in memory, left out when
   * written); unchanged when {@code cipher} does not encrypt. The AAD is {@value #REPORT_AAD_PREFIX}, the backup
   * id, {@code /} and the report's key below the backup folder ({@code verify/<time>.json}), so a sealed part
   * moved to another report or backup does not open.
   */
  public static RestoreTestReport sealReport(RestoreTestReport full, ArtifactCipher cipher) {
    if (!cipher.encrypts()) {
      return full;
    }
    byte[] plain = Json.write(full.sealedResults()).getBytes(StandardCharsets.UTF_8);
    return full.withSealed(seal(plain, cipher, reportAad(full)));
  }

  /** A stored report with its sealed part opened; {@code r} itself when it has none. */
  public static RestoreTestReport openReport(RestoreTestReport r, ArtifactCipher cipher)
      throws DataKeys.WrongKeyException {
    if (!r.hasSealedPart()) {
      return r;
    }
    String what = "restore test result " + RepositoryLayout.relativeToBackup(r.key()) + " of backup "
        + r.backupId();
    byte[] plain = open(r.sealed(), cipher, reportAad(r), what + ": its", "the result");
    try {
      return r.unsealedWith(Json.read(plain, RestoreTestReport.SealedResults.class));
    } catch (IOException e) {
      throw new DataKeys.WrongKeyException(what + ": the sealed part authenticates but is not the JSON this"
          + " pgfleet reads");
    }
  }

  private static String seal(byte[] plain, ArtifactCipher cipher, byte[] aad) {
    return Base64.getEncoder().encodeToString(GcmMessage.seal(cipher.dataKey(), aad, plain));
  }

  /**
   * @param whose how the message starts, e.g. {@code backup X: the manifest's}
   * @param subject what cannot be trusted, e.g. {@code the manifest}
   */
  private static byte[] open(String sealed, ArtifactCipher cipher, byte[] aad, String whose, String subject)
      throws DataKeys.WrongKeyException {
    if (!cipher.encrypts()) {
      throw new DataKeys.WrongKeyException(whose + " sealed part is there but the backup has no encryption record; "
          + subject + " is damaged");
    }
    byte[] all;
    try {
      all = Base64.getDecoder().decode(sealed);
    } catch (IllegalArgumentException e) {
      throw new DataKeys.WrongKeyException(whose + " sealed part is not base64; " + subject + " is damaged");
    }
    if (all.length < GcmMessage.NONCE_BYTES + GcmMessage.TAG_BYTES) {
      throw new DataKeys.WrongKeyException(whose + " sealed part has only " + all.length + " bytes; " + subject
          + " is damaged");
    }
    try {
      return GcmMessage.open(cipher.dataKey(), aad, all);
    } catch (AEADBadTagException e) {
      throw new DataKeys.WrongKeyException(whose + " sealed part fails authentication: it was tampered with or"
          + " belongs to another backup; " + subject + " cannot be trusted");
    }
  }

  static byte[] aad(String backupId) {
    return (AAD_PREFIX + backupId).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] reportAad(RestoreTestReport r) {
    return (REPORT_AAD_PREFIX + r.backupId() + "/" + RepositoryLayout.relativeToBackup(r.key()))
        .getBytes(StandardCharsets.UTF_8);
  }
}
