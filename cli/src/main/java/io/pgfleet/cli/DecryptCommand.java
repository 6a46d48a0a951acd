package io.pgfleet.cli;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.DecryptingInputStream;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import io.pgfleet.coordinator.guide.RestoreGuide;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Writes an encrypted backup's artifacts in the clear, under their own names, with a manifest (its sealed part
 * opened: a format-1 manifest with no encryption) and RESTORE.md of the plain files, so the standard tools restore
 * from there as from any unencrypted backup folder.
 */
@Command(name = "decrypt", description = {
    "Write the artifacts of an encrypted backup in the clear into --out, with a plain manifest.json (its sealed "
        + "part opened) and a RESTORE.md whose pg_restore/psql/zstd commands restore from there."})
final class DecryptCommand implements Callable<Integer> {
  @Mixin
  BackupSelection selection;

  @Mixin
  EncryptionKeyOption encryption;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Directory to write into (created if missing; must not hold a manifest.json already).")
  Path out;

  @Override
  public Integer call() throws Exception {
    Storage storage = selection.open();
    Manifest m = selection.find(storage);
    ArtifactCipher cipher;
    try {
      cipher = ArtifactCipher.forBackup(m.encryption(), encryption.key(), "backup " + m.backupId());
      m = ManifestSeal.open(m, cipher);
    } catch (DataKeys.WrongKeyException e) {
      throw new UserError(e.getMessage());
    }
    Files.createDirectories(out);
    if (Files.exists(out.resolve(RepositoryLayout.MANIFEST))) {
      throw new UserError(out + " already holds a manifest.json: give an empty or new --out directory");
    }
    try {
      return decrypt(storage, m, cipher);
    } catch (Exception e) {
      // Nothing half-decrypted stays behind to be mistaken for the backup: the files written so far go.
      for (Path p : written) {
        Files.deleteIfExists(p);
      }
      throw e;
    }
  }

  private final List<Path> written = new ArrayList<>();

  private int decrypt(Storage storage, Manifest m, ArtifactCipher cipher) throws IOException {
    ArtifactEntry schema = m.schema() == null ? null : write(storage, m, m.schema(), cipher);
    ArtifactEntry globals = m.globals() == null ? null : write(storage, m, m.globals(), cipher);
    List<ArtifactEntry> data = new ArrayList<>();
    for (ArtifactEntry a : m.data()) {
      data.add(write(storage, m, a, cipher));
    }
    Manifest.Archive archive = null;
    if (m.archive() != null) {
      List<ArtifactEntry> files = new ArrayList<>();
      for (ArtifactEntry f : m.archive().files()) {
        files.add(write(storage, m, f, cipher));
      }
      Manifest.Archive a = m.archive();
      archive = new Manifest.Archive(a.format(), a.jobs(), a.args(), a.key(), files);
    }
    Manifest plain = m.withArtifacts(schema, globals, data, archive, null, null);
    String guide = plain.archiveMode() ? RestoreGuide.renderArchive(plain) : RestoreGuide.render(plain, data, schema);
    byte[] guideBytes = guide.getBytes(StandardCharsets.UTF_8);
    String guideKey = m.restoreGuideKey() == null ? RepositoryLayout.RESTORE_GUIDE : m.restoreGuideKey();
    written.add(out.resolve(guideKey));
    Files.write(out.resolve(guideKey), guideBytes);
    String guideSha = HexFormat.of().formatHex(Sha256Counter.newSha256().digest(guideBytes));
    plain = m.withArtifacts(schema, globals, data, archive, guideSha, null);
    Files.write(out.resolve(RepositoryLayout.MANIFEST), Json.writePretty(plain));
    System.err.printf("pgfleet: decrypted backup %s (%d artifacts) into %s; restore with %s there%n", m.backupId(),
        plain.artifacts().size(), out, guideKey);
    return 0;
  }

  /** Decrypts one artifact to its own name under --out, after checking the stored bytes' SHA-256. */
  private ArtifactEntry write(Storage storage, Manifest m, ArtifactEntry a, ArtifactCipher cipher)
      throws IOException {
    Path to = out.resolve(a.key()).normalize();
    if (!to.startsWith(out.normalize())) {
      throw new UserError("artifact key " + a.key() + " leaves the output directory; the manifest is damaged");
    }
    Files.createDirectories(to.getParent());
    written.add(to);
    MessageDigest stored = Sha256Counter.newSha256();
    try (InputStream raw = new java.security.DigestInputStream(storage.open(m.objectKey(a.key())), stored);
         InputStream in = cipher.decrypt(raw, a.key());
         OutputStream file = Files.newOutputStream(to);
         Sha256Counter plain = new Sha256Counter(file)) {
      try {
        in.transferTo(plain);
      } catch (DecryptingInputStream.AuthenticationException e) {
        throw new UserError("artifact " + a.key() + " of backup " + m.backupId() + " is corrupt: " + e.getMessage());
      }
      raw.transferTo(OutputStream.nullOutputStream());
      plain.flush();
      String storedSha = HexFormat.of().formatHex(stored.digest());
      if (!storedSha.equals(a.sha256())) {
        throw new UserError("artifact " + a.key() + " of backup " + m.backupId() + " is corrupt: SHA-256 "
            + storedSha + ", manifest says " + a.sha256());
      }
      return new ArtifactEntry(a.key(), a.kind(), a.table(), a.columns(), a.rows(), a.rawBytes(), plain.bytes(),
          plain.sha256(), a.contentDigest(), a.contentDigestAlgorithm(), a.compression(), "none", a.taskId(),
          a.chunk(), a.elapsedMillis());
    }
  }
}
