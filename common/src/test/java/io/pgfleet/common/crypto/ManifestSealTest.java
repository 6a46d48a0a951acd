package io.pgfleet.common.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.repository.RestoreTestReport;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.common.storage.StorageException;
import io.pgfleet.common.task.Chunk;
import io.pgfleet.common.task.DumpFilter;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestSealTest {
  private static final MasterKey MASTER = MasterKey.of(new byte[] {
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
      31, 32});
  private static final MasterKey OTHER = MasterKey.of(new byte[32]);
  private static final String ID_A = "20261126T010203Z-aaaaaa";
  private static final String ID_B = "20261126T010204Z-bbbbbb";

  private static ArtifactEntry table(String key, TableRef t, long rows, String digest, Chunk chunk) {
    return new ArtifactEntry(key, "table-data", t, List.of("id", "Card Holder"), rows, rows * 17, 4096 + rows,
        String.format("%064x", key.hashCode() & 0xffffffffL), digest, "rowsum128-sha256", "zstd",
        ArtifactCipher.FORMAT, ID_A + "/t1", chunk, 120L);
  }

  /** A full manifest whose every sensitive value is a distinctive string, so a leak shows up in a search. */
  private static Manifest full(String backupId, ArtifactCipher cipher) {
    TableRef cards = new TableRef("Billing Schema", "Customer Cards");
    TableRef log = new TableRef("audit", "login_events");
    ArtifactEntry schema = new ArtifactEntry("schema.1a2b3c4d.dump", "schema", null, null, 0, 7777, 8000,
        "c".repeat(64), null, null, "pg_dump-custom", ArtifactCipher.FORMAT, backupId + "/schema", null, 30L);
    ArtifactEntry globals = new ArtifactEntry("globals.5e6f7a8b.sql", "globals", null, null, 0, 900, 950,
        "d".repeat(64), null, null, "none", ArtifactCipher.FORMAT, backupId + "/globals", null, 20L);
    List<ArtifactEntry> data = List.of(
        table("data/00001.0d269134.copy.zst", cards, 31337, "feedface0123456789abcdef01234567", null),
        table("data/00002-0001.11111111.copy.zst", log, 4242, "0badc0de0123456789abcdef01234567",
            new Chunk(1, 2, Chunk.KEY, "login_seq_col", null, "5000")),
        table("data/00002-0002.22222222.copy.zst", log, 4343, "0badc0de0123456789abcdef76543210",
            new Chunk(2, 2, Chunk.KEY, "login_seq_col", "5000", null)));
    return new Manifest(Manifest.FORMAT_VERSION, backupId, "run-1", "prod-eu", "shop",
        new Manifest.SourceInfo("15.20", 150020, "00000003-0000001B-1", "0/16B3748", "UTF8", "de_DE.UTF-8",
            "de_DE.UTF-8", "backup_role_x", "7312345678901234567"),
        Instant.parse("2026-11-26T01:02:03Z"), Instant.parse("2026-11-26T01:03:04Z"), "dev",
        List.of("SET row_security = off"), schema, globals, data, "RESTORE.md", "e".repeat(64), null,
        cipher.record(), new DumpFilter(List.of("Billing Schema"), List.of("secret_ns"), List.of("audit.tmp_x"),
            List.of("audit.big_blob")), null);
  }

  private static Manifest sealedRoundTrip(Manifest full, ArtifactCipher cipher) throws Exception {
    return Json.read(Json.writePretty(ManifestSeal.seal(full, cipher)), Manifest.class);
  }

  @Test
  void sealingKeepsWhatTheFleetNeedsInTheClearAndOpeningGivesTheFullManifestBack() throws Exception {
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    Manifest full = full(ID_A, cipher);
    Manifest stored = sealedRoundTrip(full, cipher);

    assertThat(stored.hasSealedPart()).isTrue();
    assertThat(stored.formatVersion()).isEqualTo(Manifest.SEALED_FORMAT_VERSION);
    assertThat(stored.backupId()).isEqualTo(ID_A);
    assertThat(stored.runId()).isEqualTo("run-1");
    assertThat(stored.cluster()).isEqualTo("prod-eu");
    assertThat(stored.database()).isEqualTo("shop");
    assertThat(stored.startedAt()).isEqualTo(full.startedAt());
    assertThat(stored.finishedAt()).isEqualTo(full.finishedAt());
    assertThat(stored.encryption()).isEqualTo(full.encryption());
    assertThat(stored.totalBytes()).isEqualTo(full.totalBytes());
    assertThat(stored.artifacts()).extracting(ArtifactEntry::key)
        .containsExactlyElementsOf(full.artifacts().stream().map(ArtifactEntry::key).toList());
    assertThat(stored.artifacts()).extracting(ArtifactEntry::sha256)
        .containsExactlyElementsOf(full.artifacts().stream().map(ArtifactEntry::sha256).toList());
    assertThat(stored.source()).isNull();
    assertThat(stored.selection()).isNull();
    assertThat(stored.tableCount()).isZero();
    assertThat(stored.totalRows()).isZero();

    Manifest opened = ManifestSeal.open(stored, MASTER);
    assertThat(opened.hasSealedPart()).isFalse();
    assertThat(opened.withArtifacts(opened.schema(), opened.globals(), opened.data(), null,
        opened.restoreGuideSha256(), opened.encryption()))
        .isEqualTo(full.withArtifacts(full.schema(), full.globals(), full.data(), null, full.restoreGuideSha256(),
            full.encryption()).sealedAs("x").unsealedWith(full.sealedFields()));
    assertThat(opened.data()).isEqualTo(full.data());
    assertThat(opened.schema()).isEqualTo(full.schema());
    assertThat(opened.globals()).isEqualTo(full.globals());
    assertThat(opened.source()).isEqualTo(full.source());
    assertThat(opened.selection()).isEqualTo(full.selection());
    assertThat(opened.tableCount()).isEqualTo(2);
    assertThat(opened.totalRows()).isEqualTo(31337 + 4242 + 4343);
  }

  @Test
  void theStoredManifestNamesNoTableSchemaColumnRoleOrDigest() {
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    String json = new String(Json.writePretty(ManifestSeal.seal(full(ID_A, cipher), cipher)), StandardCharsets.UTF_8);
    for (String secret : List.of("Billing Schema", "Customer Cards", "audit", "login_events", "Card Holder",
        "login_seq_col", "31337", "4242", "feedface", "0badc0de", "backup_role_x", "7312345678901234567",
        "de_DE", "secret_ns", "tmp_x", "big_blob", "0/16B3748", "00000003-0000001B-1", "\"table\"", "\"columns\"",
        "\"chunk\"", "\"contentDigest\"", "\"selection\"", "\"source\"")) {
      assertThat(json).as("stored manifest mentions %s", secret).doesNotContain(secret);
    }
    assertThat(json).contains("\"sealed\"").contains(ID_A).contains("\"formatVersion\" : 2");
  }

  @Test
  void anArchiveModeBackupSealsItsPgDumpFlags() throws Exception {
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    Manifest f = full(ID_A, cipher);
    ArtifactEntry file = new ArtifactEntry("archive.1a2b3c4d.dump", "pg-dump-custom", null, null, 0, 5000, 5100,
        "f".repeat(64), null, null, "pg_dump-custom", ArtifactCipher.FORMAT, ID_A + "/archive", null, 10L);
    Manifest archive = new Manifest(1, ID_A, f.runId(), f.cluster(), f.database(), f.source(), f.startedAt(),
        f.finishedAt(), "dev", List.of(), null, null, List.of(), "RESTORE.md", null,
        new Manifest.Archive("custom", 1, List.of("--schema=Billing Schema", "--exclude-table-data=audit.big_blob"),
            "archive.1a2b3c4d.dump", List.of(file)), cipher.record(), null, null);
    Manifest stored = sealedRoundTrip(archive, cipher);
    assertThat(new String(Json.writePretty(stored), StandardCharsets.UTF_8)).doesNotContain("Billing")
        .doesNotContain("big_blob");
    assertThat(stored.archive().args()).isEmpty();
    assertThat(stored.archiveMode()).isTrue();
    assertThat(stored.archive().files().get(0).rawBytes()).isZero();
    Manifest opened = ManifestSeal.open(stored, cipher);
    assertThat(opened.archive()).isEqualTo(archive.archive());
  }

  @Test
  void aFlippedByteInTheSealedPartFailsClearly() throws Exception {
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    Manifest stored = sealedRoundTrip(full(ID_A, cipher), cipher);
    byte[] blob = Base64.getDecoder().decode(stored.sealed());
    for (int i : new int[] {0, 11, 12, blob.length / 2, blob.length - 1}) {
      byte[] bad = blob.clone();
      bad[i] ^= 0x01;
      Manifest tampered = withSealed(stored, Base64.getEncoder().encodeToString(bad));
      assertThatThrownBy(() -> ManifestSeal.open(tampered, MASTER))
          .isInstanceOf(DataKeys.WrongKeyException.class)
          .hasMessage("backup " + ID_A + ": the manifest's sealed part fails authentication: it was tampered with"
              + " or belongs to another backup; the manifest cannot be trusted");
    }
    assertThatThrownBy(() -> ManifestSeal.open(withSealed(stored, "not base64!"), MASTER))
        .hasMessageContaining("not base64");
    assertThatThrownBy(() -> ManifestSeal.open(withSealed(stored, "AAAA"), MASTER))
        .hasMessageContaining("only 3 bytes");
  }

  /** Moving the sealed part into another backup's manifest fails, even with that backup's encryption record. */
  @Test
  void aSealedPartSwappedBetweenBackupsIsDetected() throws Exception {
    ArtifactCipher cipherA = DataKeys.newBackupKey(MASTER);
    ArtifactCipher cipherB = DataKeys.newBackupKey(MASTER);
    Manifest a = sealedRoundTrip(full(ID_A, cipherA), cipherA);
    Manifest b = sealedRoundTrip(full(ID_B, cipherB), cipherB);
    assertThat(ManifestSeal.open(b, MASTER).backupId()).isEqualTo(ID_B);

    Manifest sealedOnly = withSealed(a, b.sealed());
    assertThatThrownBy(() -> ManifestSeal.open(sealedOnly, MASTER)).hasMessageContaining("fails authentication");

    Manifest withItsKey = new Manifest(a.formatVersion(), a.backupId(), a.runId(), a.cluster(), a.database(),
        a.source(), a.startedAt(), a.finishedAt(), a.pgfleetVersion(), a.copySettings(), a.schema(), a.globals(),
        a.data(), a.restoreGuideKey(), a.restoreGuideSha256(), a.archive(), b.encryption(), a.selection(),
        b.sealed());
    assertThatThrownBy(() -> ManifestSeal.open(withItsKey, MASTER))
        .hasMessage("backup " + ID_A + ": the manifest's sealed part fails authentication: it was tampered with or"
            + " belongs to another backup; the manifest cannot be trusted");
  }

  @Test
  void anArtifactListEditedInTheClearDoesNotMatchTheSealedOne() throws Exception {
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    Manifest stored = sealedRoundTrip(full(ID_A, cipher), cipher);
    List<ArtifactEntry> fewer = new ArrayList<>(stored.data());
    fewer.remove(1);
    assertThatThrownBy(() -> ManifestSeal.open(withData(stored, fewer), MASTER))
        .isInstanceOf(DataKeys.WrongKeyException.class)
        .hasMessageContaining("artifact data/00002-0001.11111111.copy.zst is in the manifest's sealed part but not"
            + " in its clear part");
    List<ArtifactEntry> otherSha = new ArrayList<>(stored.data());
    ArtifactEntry x = otherSha.get(0);
    otherSha.set(0, new ArtifactEntry(x.key(), x.kind(), null, null, 0, 0, x.bytes(), "9".repeat(64), null, null,
        x.compression(), x.encryption(), x.taskId(), null, x.elapsedMillis()));
    assertThatThrownBy(() -> ManifestSeal.open(withData(stored, otherSha), MASTER))
        .hasMessageContaining("has SHA-256 " + "9".repeat(64) + " in the clear part");
  }

  @Test
  void aMissingOrWrongKeyFailsWithTheOneLineKeyError() throws Exception {
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    Manifest stored = sealedRoundTrip(full(ID_A, cipher), cipher);
    assertThatThrownBy(() -> ManifestSeal.open(stored, (MasterKey) null))
        .hasMessage("backup " + ID_A + " is encrypted with key " + MASTER.keyId() + ": give that key with"
            + " --encryption-key-file FILE or " + MasterKey.ENV);
    assertThatThrownBy(() -> ManifestSeal.open(stored, OTHER))
        .hasMessage("backup " + ID_A + " is encrypted with key " + MASTER.keyId() + ", but the key given is "
            + OTHER.keyId() + ": give the key with id " + MASTER.keyId());
    assertThat(ManifestSeal.openIfPossible(stored, OTHER)).isSameAs(stored);
    assertThat(ManifestSeal.openIfPossible(stored, null)).isSameAs(stored);
    assertThat(ManifestSeal.openIfPossible(stored, MASTER).hasSealedPart()).isFalse();
  }

  @Test
  void anUnencryptedManifestIsNeitherSealedNorChanged() throws Exception {
    Manifest plain = full(ID_A, ArtifactCipher.NONE);
    assertThat(ManifestSeal.seal(plain, ArtifactCipher.NONE)).isSameAs(plain);
    assertThat(ManifestSeal.open(plain, (MasterKey) null)).isSameAs(plain);
    assertThat(new String(Json.writePretty(plain), StandardCharsets.UTF_8)).doesNotContain("sealed")
        .contains("\"formatVersion\" : 1");
  }

  /** Manifests written before sealing (format 1): in the clear, and encrypted artifacts only. */
  @Test
  void formatOneManifestsStillRead(@TempDir Path dir) throws Exception {
    FileSystemStorage storage = FileSystemStorage.open(dir);
    Manifest plain = put(storage, "v1-plain.json");
    assertThat(plain.formatVersion()).isEqualTo(1);
    assertThat(plain.hasSealedPart()).isFalse();
    assertThat(plain.encrypted()).isFalse();
    assertThat(plain.data()).singleElement().satisfies(a -> {
      assertThat(a.table()).isEqualTo(new TableRef("public", "t"));
      assertThat(a.rows()).isEqualTo(3);
    });
    assertThat(ManifestSeal.open(plain, (MasterKey) null)).isSameAs(plain);

    Manifest enc = put(storage, "v1-encrypted-artifacts.json");
    assertThat(enc.formatVersion()).isEqualTo(1);
    assertThat(enc.encrypted()).isTrue();
    assertThat(enc.hasSealedPart()).isFalse();
    assertThat(enc.tableCount()).isEqualTo(1);
    assertThat(enc.totalRows()).isEqualTo(3);
    assertThat(enc.data().get(0).table()).isEqualTo(new TableRef("billing", "Customer Cards"));
    // Its fields are all in the clear: no key is needed to read them; its artifacts still need the fixture's key.
    assertThat(ManifestSeal.open(enc, (MasterKey) null)).isSameAs(enc);
    MasterKey fixtureKey = MasterKey.of(new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31});
    assertThat(fixtureKey.keyId()).isEqualTo(enc.encryption().keyId());
    assertThat(ArtifactCipher.forBackup(enc.encryption(), fixtureKey, "fixture").encrypts()).isTrue();
    assertThat(new BackupCatalog(storage).list()).extracting(Manifest::backupId)
        .containsExactly(enc.backupId(), plain.backupId());
  }

  @Test
  void aManifestOfANewerFormatIsRefusedClearly(@TempDir Path dir) throws Exception {
    FileSystemStorage storage = FileSystemStorage.open(dir);
    String json = fixture("v1-plain.json").replace("\"formatVersion\" : 1", "\"formatVersion\" : 3");
    String key = RepositoryLayout.manifestKey("c", "d", "20261125T231728Z-c665da");
    storage.createIfAbsent(key, json.getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> new BackupCatalog(storage).read(key)).isInstanceOf(StorageException.class)
        .hasMessageContaining("has format version 3, newer than this pgfleet reads (up to 2): use a newer pgfleet");
  }

  /** A restore test's result of an encrypted backup names its tables and assertions only in its sealed part. */
  @Test
  void aRestoreTestResultIsStoredSealed(@TempDir Path dir) throws Exception {
    FileSystemStorage storage = FileSystemStorage.open(dir);
    ArtifactCipher cipher = DataKeys.newBackupKey(MASTER);
    Instant at = Instant.parse("2026-11-26T02:00:00Z");
    RestoreTestReport full = new RestoreTestReport(ID_A, "prod-eu", "shop", RestoreTestReport.KIND, false,
        at.minusSeconds(5), at, "sandbox:5432", "pgfleet_rt_x",
        List.of(new RestoreTestReport.TableCheck(new TableRef("Billing Schema", "Customer Cards"), 1, 31337,
            31337L, "feedface0123456789abcdef01234567", "feedface0123456789abcdef01234567", true)),
        List.of(new RestoreTestReport.AssertionCheck("SELECT count(*) > 0 FROM audit.login_events", false,
            "returned false")),
        List.of("assertion 'SELECT count(*) > 0 FROM audit.login_events': returned false"),
        new RestoreTestReport.Timings(1, 2, 3, 6), "dev", null);
    RestoreTestReport sealed = ManifestSeal.sealReport(full, cipher);
    assertThat(sealed.tables()).isEqualTo(full.tables());
    String key = sealed.write(storage);
    String json;
    try (InputStream in = storage.open(key)) {
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    for (String secret : List.of("Billing", "Customer Cards", "login_events", "31337", "feedface", "SELECT")) {
      assertThat(json).as("stored result mentions %s", secret).doesNotContain(secret);
    }
    RestoreTestReport read = RestoreTestReport.read(storage, key);
    assertThat(read.hasSealedPart()).isTrue();
    assertThat(read.passed()).isFalse();
    assertThat(read.tables()).isEmpty();
    assertThat(ManifestSeal.openReport(read, cipher)).isEqualTo(full);

    // Another result's sealed part (a passing one, say) does not open in this one.
    RestoreTestReport other = ManifestSeal.sealReport(new RestoreTestReport(ID_A, "prod-eu", "shop",
        RestoreTestReport.KIND, true, at, at.plusSeconds(9), "sandbox:5432", "pgfleet_rt_x", List.of(), List.of(),
        List.of(), new RestoreTestReport.Timings(1, 2, 3, 6), "dev", null), cipher);
    RestoreTestReport swapped = read.withSealed(other.sealed());
    assertThatThrownBy(() -> ManifestSeal.openReport(swapped, cipher))
        .isInstanceOf(DataKeys.WrongKeyException.class)
        .hasMessage("restore test result verify/20261126T020000000Z.json of backup " + ID_A + ": its sealed part"
            + " fails authentication: it was tampered with or belongs to another backup; the result cannot be"
            + " trusted");
    assertThat(ManifestSeal.sealReport(full, ArtifactCipher.NONE)).isSameAs(full);
  }

  private static Manifest put(FileSystemStorage storage, String fixture) throws Exception {
    Manifest m = Json.read(fixture(fixture), Manifest.class);
    String key = RepositoryLayout.manifestKey(m.cluster(), m.database(), m.backupId());
    storage.createIfAbsent(key, fixture(fixture).getBytes(StandardCharsets.UTF_8));
    Manifest read = new BackupCatalog(storage).read(key);
    assertThat(read).isEqualTo(m);
    return read;
  }

  private static String fixture(String name) throws Exception {
    try (InputStream in = ManifestSealTest.class.getResourceAsStream("/manifests/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static Manifest withSealed(Manifest m, String sealed) {
    return new Manifest(m.formatVersion(), m.backupId(), m.runId(), m.cluster(), m.database(), m.source(),
        m.startedAt(), m.finishedAt(), m.pgfleetVersion(), m.copySettings(), m.schema(), m.globals(), m.data(),
        m.restoreGuideKey(), m.restoreGuideSha256(), m.archive(), m.encryption(), m.selection(), sealed);
  }

  private static Manifest withData(Manifest m, List<ArtifactEntry> data) {
    return new Manifest(m.formatVersion(), m.backupId(), m.runId(), m.cluster(), m.database(), m.source(),
        m.startedAt(), m.finishedAt(), m.pgfleetVersion(), m.copySettings(), m.schema(), m.globals(), data,
        m.restoreGuideKey(), m.restoreGuideSha256(), m.archive(), m.encryption(), m.selection(), m.sealed());
  }
}
