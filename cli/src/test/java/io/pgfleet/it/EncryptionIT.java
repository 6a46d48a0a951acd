package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import io.pgfleet.it.support.BackupFiles;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.io.ByteArrayInputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client-side encryption on the traps fixture: no plaintext value reaches the repository, the right key restores
 * exactly, a missing or wrong key and a damaged artifact fail with one line naming what, and {@code pgfleet decrypt}
 * gives files that the standard tools restore with the decrypted RESTORE.md.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EncryptionIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TestPostgres PG = TestPostgres.get();
  /** Values of traps.sql: row text (table data), a comment (the schema archive's TOC), a trigger's text. */
  private static final List<String> PLAINTEXT = List.of("@example.com", "Zürich", "Customer 17", "truck 12",
      "Kunden — with an apostrophe", "by trigger");
  private static String source;
  private static final List<String> targets = new ArrayList<>();
  private static String backupId;
  private static String keyId;
  @TempDir
  static Path dir;

  @BeforeAll
  static void load() throws Exception {
    source = PG.uniqueDbName("enc_src");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    Files.writeString(dir.resolve("key"), Base64.getEncoder().encodeToString(key) + "\n");
    byte[] other = new byte[32];
    new SecureRandom().nextBytes(other);
    Files.writeString(dir.resolve("wrong-key"), HexFormat.of().formatHex(other));
  }

  @AfterAll
  static void drop() throws Exception {
    PG.dropDatabase(source);
    for (String t : targets) {
      PG.dropDatabase(t);
    }
  }

  private static String target(String prefix) {
    String t = PG.uniqueDbName(prefix);
    targets.add(t);
    return t;
  }

  private static Path repo() {
    return dir.resolve("repo");
  }

  @Test
  @Order(1)
  void noPlaintextInTheRepositoryAndTheRightKeyRestoresExactly() throws Exception {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo().toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers(), "--encryption-key-file", dir.resolve("key").toString());
    assertThat(b.exitCode()).as(b.err()).isZero();
    backupId = b.out().trim();
    JsonNode m = JSON.readTree(manifest(repo(), backupId).toFile());
    keyId = m.get("encryption").get("keyId").asText();
    assertThat(keyId).matches("[0-9a-f]{16}");
    assertThat(m.get("encryption").get("format").asText()).isEqualTo("aes256gcm-chunked-v1");
    assertThat(m.get("schema").get("encryption").asText()).isEqualTo("aes256gcm-chunked-v1");
    assertThat(m.get("globals").get("encryption").asText()).isEqualTo("aes256gcm-chunked-v1");
    m.get("data").forEach(a -> assertThat(a.get("encryption").asText()).isEqualTo("aes256gcm-chunked-v1"));
    assertThat(b.err()).doesNotContain(Files.readString(dir.resolve("key")).trim());

    List<String> found = plaintextIn(manifest(repo(), backupId).getParent(), true);
    assertThat(found).as("plaintext in an encrypted backup").isEmpty();
    assertManifestSealed(manifest(repo(), backupId));

    // Without the key: list, sizes and times work; show says what is sealed and how to give the key.
    Cli.Result list = Cli.run("list", "--repo", repo().toString());
    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(list.out()).contains(backupId).contains("sealed");
    Cli.Result sealedShow = Cli.run("show", "--repo", repo().toString(), "--backup", backupId);
    assertThat(sealedShow.exitCode()).as(sealedShow.err()).isZero();
    assertThat(sealedShow.out()).contains("sealed", "--encryption-key-file", "PGFLEET_ENCRYPTION_KEY", keyId, "stored")
        .doesNotContain("customers");
    Cli.Result openShow = Cli.run("show", "--repo", repo().toString(), "--backup", backupId,
        "--encryption-key-file", dir.resolve("key").toString());
    assertThat(openShow.exitCode()).as(openShow.err()).isZero();
    assertThat(openShow.out()).contains("app.customers", "bank.ledger", "source    PostgreSQL")
        .doesNotContain("sealed ");
    Cli.Result wrongShow = Cli.run("show", "--repo", repo().toString(), "--backup", backupId,
        "--encryption-key-file", dir.resolve("wrong-key").toString());
    assertThat(wrongShow.exitCode()).isEqualTo(1);
    assertThat(wrongShow.errorLines()).hasSize(1);
    assertThat(wrongShow.errorLines().get(0)).contains(keyId);

    Cli.Result v = Cli.run("verify", "--repo", repo().toString(), "--backup", backupId);
    assertThat(v.exitCode()).as(v.err()).isZero();
    Cli.Result deep = Cli.run("verify", "--repo", repo().toString(), "--backup", backupId,
        "--encryption-key-file", dir.resolve("key").toString());
    assertThat(deep.exitCode()).as(deep.err()).isZero();
    assertThat(deep.out()).contains("every encrypted chunk authenticated");
    Cli.Result show = Cli.run("show", "--repo", repo().toString(), "--backup", backupId);
    assertThat(show.out()).contains("aes256gcm-chunked-v1", keyId);

    String restored = target("enc_dst");
    Cli.Result r = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target",
        PG.url(restored), "--encryption-key-file", dir.resolve("key").toString(), "--with-globals");
    assertThat(r.exitCode()).as(r.err()).isZero();
    DatabaseComparison.compare(PG, source, restored).assertEqual();

    // A selective restore reads the tables from the sealed part; its key comes from a command (the KMS hook).
    String one = target("enc_one");
    Cli.Result sel = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target",
        PG.url(one), "--encryption-key-command", "cat '" + dir.resolve("key") + "'", "--schema", "bank",
        "--no-owner");
    assertThat(sel.exitCode()).as(sel.err()).isZero();
    try (java.sql.Connection c = PG.connect(one); java.sql.Statement st = c.createStatement();
         java.sql.ResultSet rs = st.executeQuery("SELECT (SELECT count(*) FROM bank.ledger),"
             + " to_regclass('app.customers') IS NULL")) {
      rs.next();
      try (java.sql.Connection s = PG.connect(source); java.sql.Statement st2 = s.createStatement();
           java.sql.ResultSet rs2 = st2.executeQuery("SELECT count(*) FROM bank.ledger")) {
        rs2.next();
        assertThat(rs.getLong(1)).isEqualTo(rs2.getLong(1));
      }
      assertThat(rs.getBoolean(2)).as("only schema bank restored").isTrue();
    }

    // A restore test reads the tables and digests to check from the sealed part too.
    Cli.Result rt = Cli.run("restore-test", "--repo", repo().toString(), "--backup", backupId, "--sandbox",
        PG.url("postgres"), "--scratch-prefix", "pgfleet_enc_rt_", "--encryption-key-file",
        dir.resolve("key").toString());
    assertThat(rt.exitCode()).as(rt.out() + rt.err()).isZero();
    assertThat(rt.out()).contains("app.customers");
    // Its stored result names no table either; show opens it with the key only.
    Path verifyDir = manifest(repo(), backupId).resolveSibling("verify");
    try (Stream<Path> results = Files.list(verifyDir)) {
      for (Path result : results.toList()) {
        String raw = Files.readString(result);
        assertThat(JSON.readTree(raw).get("sealed").asText()).isNotEmpty();
        for (String name : List.of("customers", "ledger", "\"app\"", "\"bank\"", "Ops-")) {
          assertThat(raw).as(result + " names " + name).doesNotContain(name);
        }
      }
    }
    Cli.Result showTested = Cli.run("show", "--repo", repo().toString(), "--backup", backupId);
    assertThat(showTested.out()).contains("restore test PASSED").contains("tables and assertions are sealed");
    Cli.Result showTestedKey = Cli.run("show", "--repo", repo().toString(), "--backup", backupId,
        "--encryption-key-file", dir.resolve("key").toString());
    assertThat(showTestedKey.out()).containsPattern("restore test PASSED .* [1-9][0-9]* tables");
  }

  /**
   * The stored manifest of an encrypted backup names no table, schema, column or row value, and keeps per-table
   * numbers only in its sealed part; RESTORE.md (stored in the clear) names no table either.
   */
  private static void assertManifestSealed(Path manifestFile) throws Exception {
    String raw = Files.readString(manifestFile);
    String guide = Files.readString(manifestFile.resolveSibling("RESTORE.md"));
    for (String name : List.of("\"app\"", "\"bank\"", "Ops-", "customers", "line_items", "measurements",
        "vehicles", "trucks", "session_cache", "Mixed Case", "secrets", "tricky_text", "kitchen_sink", "ledger",
        "accounts", "audit_log")) {
      assertThat(raw).as("manifest names %s", name).doesNotContain(name);
      assertThat(guide).as("RESTORE.md names %s", name).doesNotContain(name);
    }
    for (String value : PLAINTEXT) {
      assertThat(raw).as("manifest holds %s", value).doesNotContain(value);
    }
    JsonNode m = JSON.readTree(raw);
    assertThat(m.get("formatVersion").asInt()).isEqualTo(2);
    assertThat(m.get("sealed").asText()).isNotEmpty();
    assertThat(m.has("source")).isFalse();
    assertThat(m.has("selection")).isFalse();
    assertThat(m.get("data").size()).isPositive();
    for (JsonNode a : m.get("data")) {
      assertThat(a.has("table") || a.has("columns") || a.has("contentDigest") || a.has("chunk")).as(a.toString())
          .isFalse();
      assertThat(a.get("rows").asLong()).isZero();
      assertThat(a.get("rawBytes").asLong()).isZero();
      assertThat(a.get("bytes").asLong()).isPositive();
    }
  }

  /** Without encryption the same check finds the values: the grep above can see plaintext where there is some. */
  @Test
  @Order(2)
  void theSameCheckFindsPlaintextInAnUnencryptedBackup() throws Exception {
    Path plainRepo = dir.resolve("plain-repo");
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", plainRepo.toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    List<String> found = plaintextIn(manifest(plainRepo, b.out().trim()).getParent(), false);
    assertThat(found).containsAll(PLAINTEXT);
  }

  @Test
  @Order(3)
  void aMissingOrWrongKeyFailsNamingTheKeyId() throws Exception {
    String t = target("enc_nokey");
    Cli.Result none = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target", PG.url(t));
    assertThat(none.exitCode()).isEqualTo(1);
    assertThat(none.errorLines()).hasSize(1);
    assertThat(none.errorLines().get(0)).contains(keyId).contains("--encryption-key-file");
    Cli.Result wrong = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target", PG.url(t),
        "--encryption-key-file", dir.resolve("wrong-key").toString());
    assertThat(wrong.exitCode()).isEqualTo(1);
    assertThat(wrong.errorLines()).hasSize(1);
    assertThat(wrong.errorLines().get(0)).contains(keyId);
    Cli.Result bad = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target", PG.url(t),
        "--encryption-key-file", dir.resolve("no-such-file").toString());
    assertThat(bad.exitCode()).isEqualTo(1);
    assertThat(bad.errorLines()).hasSize(1);
    assertThat(bad.errorLines().get(0)).contains("no-such-file");
    Cli.Result kms = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target", PG.url(t),
        "--encryption-key-command", "echo 'AccessDeniedException: kms:Decrypt not allowed' >&2; exit 254");
    assertThat(kms.exitCode()).isEqualTo(1);
    assertThat(kms.errorLines()).hasSize(1);
    assertThat(kms.errorLines().get(0)).isEqualTo("pgfleet: error: secret command 'echo' exited with 254:"
        + " AccessDeniedException: kms:Decrypt not allowed; run it by hand to see why");
  }

  /** decrypt, then RESTORE.md's shell blocks in --out, with psql, pg_restore and zstd only. */
  @Test
  @Order(4)
  void decryptThenTheStandardToolsRebuildTheDatabase() throws Exception {
    Path out = dir.resolve("plain");
    Cli.Result d = Cli.run("decrypt", "--repo", repo().toString(), "--backup", backupId, "--out", out.toString(),
        "--encryption-key-file", dir.resolve("key").toString());
    assertThat(d.exitCode()).as(d.err()).isZero();
    String encryptedGuide = Files.readString(manifest(repo(), backupId).resolveSibling("RESTORE.md"));
    assertThat(encryptedGuide).contains("pgfleet decrypt", keyId, "pgfleet-data-key-v1");
    JsonNode plainManifest = JSON.readTree(out.resolve("manifest.json").toFile());
    assertThat(plainManifest.get("formatVersion").asInt()).isEqualTo(1);
    assertThat(plainManifest.has("sealed")).isFalse();
    assertThat(plainManifest.has("encryption")).isFalse();
    assertThat(plainManifest.get("source").get("serverVersionNum").asInt()).isPositive();
    assertThat(plainManifest.toString()).contains("customers").contains("ledger");
    String guided = target("enc_guide");
    BackupFiles.runRestoreGuide(out, guided, PG);
    DatabaseComparison.compare(PG, source, guided).assertEqual();
  }

  @Test
  @Order(5)
  void aTruncatedOrFlippedArtifactFailsTheRestoreNamingIt() throws Exception {
    Path folder = manifest(repo(), backupId).getParent();
    Path truncated = artifact(folder, "00001.");
    try (RandomAccessFile f = new RandomAccessFile(truncated.toFile(), "rw")) {
      f.setLength(f.length() - 7);
    }
    expectCorrupt("data/" + truncated.getFileName());
    Files.delete(truncated);

    // Restore the one good copy to check the flipped byte alone: back up again.
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo().toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers(), "--encryption-key-file", dir.resolve("key").toString());
    assertThat(b.exitCode()).as(b.err()).isZero();
    backupId = b.out().trim();
    Path flipped = artifact(manifest(repo(), backupId).getParent(), "00002.");
    BackupFiles.flipMiddleByte(flipped);
    expectCorrupt("data/" + flipped.getFileName());

    // The same flipped byte with its SHA-256 forged in the manifest: SHA-256 alone cannot tell; with the key,
    // verify decrypts through and names the artifact whose chunk fails authentication.
    Path manifestFile = manifest(repo(), backupId);
    String entryKey = "data/" + flipped.getFileName();
    JsonNode doc = JSON.readTree(manifestFile.toFile());
    String oldSha = null;
    for (JsonNode a : doc.get("data")) {
      if (a.get("key").asText().equals(entryKey)) {
        oldSha = a.get("sha256").asText();
      }
    }
    assertThat(oldSha).isNotNull();
    String newSha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(flipped)));
    Files.writeString(manifestFile, Files.readString(manifestFile).replace(oldSha, newSha));
    Cli.Result shaOnly = Cli.run("verify", "--repo", repo().toString(), "--backup", backupId);
    assertThat(shaOnly.exitCode()).as(shaOnly.out() + shaOnly.err()).isZero();
    assertThat(shaOnly.out()).contains("SHA-256 only");
    // With the key the forged SHA-256 no longer matches the one in the manifest's sealed part.
    Cli.Result withKey = Cli.run("verify", "--repo", repo().toString(), "--backup", backupId,
        "--encryption-key-file", dir.resolve("key").toString());
    assertThat(withKey.exitCode()).isEqualTo(1);
    assertThat(withKey.errorLines()).hasSize(1);
    assertThat(withKey.errorLines().get(0)).contains(entryKey).contains("clear part was changed");
  }

  /** A byte flipped in the manifest's sealed part: readers with the key refuse it in one line; list still works. */
  @Test
  @Order(6)
  void aTamperedSealedPartFailsClearly() throws Exception {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo().toString(), "--workers", "2",
        "--kafka", TestKafka.bootstrapServers(), "--encryption-key-file", dir.resolve("key").toString());
    assertThat(b.exitCode()).as(b.err()).isZero();
    String id = b.out().trim();
    Path manifestFile = manifest(repo(), id);
    com.fasterxml.jackson.databind.node.ObjectNode doc =
        (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(manifestFile.toFile());
    byte[] sealed = Base64.getDecoder().decode(doc.get("sealed").asText());
    sealed[sealed.length / 2] ^= 0x01;
    doc.put("sealed", Base64.getEncoder().encodeToString(sealed));
    Files.write(manifestFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc));
    for (String cmd : List.of("restore", "verify", "show", "decrypt")) {
      List<String> args = new ArrayList<>(List.of(cmd, "--repo", repo().toString(), "--backup", id,
          "--encryption-key-file", dir.resolve("key").toString()));
      if (cmd.equals("restore")) {
        args.addAll(List.of("--target", PG.url(target("enc_tamper"))));
      } else if (cmd.equals("decrypt")) {
        args.addAll(List.of("--out", dir.resolve("tampered-out").toString()));
      }
      Cli.Result r = Cli.run(args.toArray(String[]::new));
      assertThat(r.exitCode()).as(cmd + ": " + r.out() + r.err()).isEqualTo(1);
      assertThat(r.errorLines()).as(cmd).hasSize(1);
      assertThat(r.errorLines().get(0)).as(cmd).contains(id).contains("sealed part fails authentication");
    }
    Cli.Result list = Cli.run("list", "--repo", repo().toString());
    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(list.out()).contains(id);
  }

  private void expectCorrupt(String name) throws Exception {
    String t = target("enc_bad");
    Cli.Result r = Cli.run("restore", "--repo", repo().toString(), "--backup", backupId, "--target", PG.url(t),
        "--encryption-key-file", dir.resolve("key").toString());
    assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains(name).contains("corrupt");
    Cli.Result d = Cli.run("decrypt", "--repo", repo().toString(), "--backup", backupId, "--out",
        dir.resolve("bad-" + t).toString(), "--encryption-key-file", dir.resolve("key").toString());
    assertThat(d.exitCode()).isEqualTo(1);
    assertThat(d.errorLines().get(0)).contains(name);
    // Nothing of the failed decryption is left to be mistaken for the backup.
    try (Stream<Path> left = Files.walk(dir.resolve("bad-" + t))) {
      assertThat(left.filter(Files::isRegularFile).toList()).as("files left by the failed decrypt").isEmpty();
    }
  }

  private static Path artifact(Path folder, String prefix) throws Exception {
    try (Stream<Path> s = Files.list(folder.resolve("data"))) {
      return s.filter(p -> p.getFileName().toString().startsWith(prefix)).findFirst().orElseThrow();
    }
  }

  /**
   * Which of {@link #PLAINTEXT} appear in any object of the folder, as stored or, for a zstd frame, decompressed
   * (an unencrypted COPY artifact is zstd; an encrypted one is not a frame at all).
   */
  private static List<String> plaintextIn(Path folder, boolean encrypted) throws Exception {
    List<String> found = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> s = Files.walk(folder)) {
      files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("manifest.json"))
          .filter(p -> !p.getFileName().toString().equals("RESTORE.md")).toList();
    }
    for (Path f : files) {
      byte[] raw = Files.readAllBytes(f);
      List<byte[]> views = new ArrayList<>(List.of(raw));
      if (f.getFileName().toString().endsWith(".zst")) {
        try (ZstdInputStream z = new ZstdInputStream(new ByteArrayInputStream(raw))) {
          views.add(z.readAllBytes());
        } catch (Exception e) {
          assertThat(encrypted).as(f + " is not a zstd frame").isTrue();
        }
      }
      for (byte[] v : views) {
        String text = new String(v, StandardCharsets.ISO_8859_1);
        for (String p : PLAINTEXT) {
          if (text.contains(new String(p.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1))
              && !found.contains(p)) {
            found.add(p);
          }
        }
      }
    }
    return found;
  }

  private static Path manifest(Path repo, String id) throws Exception {
    try (Stream<Path> s = Files.walk(repo)) {
      return s.filter(p -> p.getFileName().toString().equals("manifest.json"))
          .filter(p -> p.getParent().getFileName().toString().equals(id)).findFirst().orElseThrow();
    }
  }
}
