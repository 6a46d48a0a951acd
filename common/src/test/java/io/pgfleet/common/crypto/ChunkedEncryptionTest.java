package io.pgfleet.common.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgfleet.common.manifest.BackupEncryption;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChunkedEncryptionTest {
  private static final int C = ChunkFormat.CHUNK;
  private static final int SEALED = C + ChunkFormat.TAG;
  private static final String KEY = "data/00001.0d269134.copy.zst";
  private static final MasterKey MASTER = MasterKey.of(bytes(32, 1));
  private static final ArtifactCipher CIPHER = DataKeys.newBackupKey(MASTER);

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] encrypt(ArtifactCipher cipher, byte[] plain, String key) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream enc = cipher.encrypt(out, key)) {
      // uneven writes, so chunk boundaries fall inside writes
      for (int off = 0; off < plain.length; ) {
        int n = Math.min(plain.length - off, 1 + (int) ((off * 7919L) % 40000));
        enc.write(plain, off, n);
        off += n;
      }
    }
    return out.toByteArray();
  }

  private static byte[] decrypt(ArtifactCipher cipher, byte[] stored, String key) throws IOException {
    try (InputStream in = cipher.decrypt(new ByteArrayInputStream(stored), key)) {
      return in.readAllBytes();
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, C - 1, C, C + 1, 2 * C, 5 * 1024 * 1024 + 17})
  void roundTrips(int size) throws IOException {
    byte[] plain = bytes(size, size);
    byte[] stored = encrypt(CIPHER, plain, KEY);
    int chunks = size / C + 1 - (size > 0 && size % C == 0 ? 1 : 0);
    assertEquals(ChunkFormat.HEADER + size + (long) chunks * ChunkFormat.TAG, stored.length);
    assertArrayEquals(plain, decrypt(CIPHER, stored, KEY));
    // single-byte reads give the same bytes
    if (size <= C + 1) {
      ByteArrayOutputStream one = new ByteArrayOutputStream();
      try (InputStream in = CIPHER.decrypt(new ByteArrayInputStream(stored), KEY)) {
        for (int b; (b = in.read()) >= 0; ) {
          one.write(b);
        }
      }
      assertArrayEquals(plain, one.toByteArray());
    }
  }

  @Test
  void sameInputEncryptsDifferentlyEachTime() throws IOException {
    byte[] plain = "1\trow 1\n".getBytes(StandardCharsets.UTF_8);
    assertTrue(!Arrays.equals(encrypt(CIPHER, plain, KEY), encrypt(CIPHER, plain, KEY)));
  }

  @Test
  void aFlippedByteAnywhereFails() throws IOException {
    byte[] stored = encrypt(CIPHER, bytes(3 * C + 5, 7), KEY);
    for (int at : new int[] {ChunkFormat.HEADER - 1, ChunkFormat.HEADER, ChunkFormat.HEADER + C + 3,
        stored.length - 1}) {
      byte[] bad = stored.clone();
      bad[at] ^= 0x01;
      assertThrows(DecryptingInputStream.AuthenticationException.class, () -> decrypt(CIPHER, bad, KEY), "at " + at);
    }
    byte[] badMagic = stored.clone();
    badMagic[0] = 'X';
    assertThrows(DecryptingInputStream.AuthenticationException.class, () -> decrypt(CIPHER, badMagic, KEY));
  }

  @Test
  void truncationFails() throws IOException {
    byte[] stored = encrypt(CIPHER, bytes(3 * C + 5, 8), KEY);
    int[] cuts = {
        ChunkFormat.HEADER + 3 * SEALED, // last chunk dropped: chunk 2 now looks final
        ChunkFormat.HEADER + SEALED, // cut at a boundary
        ChunkFormat.HEADER + SEALED + 100, // mid-chunk
        stored.length - 1, // one byte short
        ChunkFormat.HEADER + 5, // shorter than a tag
        ChunkFormat.HEADER, // header only
        7, // inside the header
        0};
    for (int cut : cuts) {
      byte[] bad = Arrays.copyOf(stored, cut);
      IOException e = assertThrows(DecryptingInputStream.AuthenticationException.class,
          () -> decrypt(CIPHER, bad, KEY), "cut at " + cut);
      assertTrue(e.getMessage().contains(KEY), e.getMessage());
    }
    // an empty object cut to nothing but its header
    byte[] empty = encrypt(CIPHER, new byte[0], KEY);
    assertThrows(IOException.class, () -> decrypt(CIPHER, Arrays.copyOf(empty, ChunkFormat.HEADER), KEY));
  }

  @Test
  void reorderedOrRepeatedChunksFail() throws IOException {
    byte[] stored = encrypt(CIPHER, bytes(3 * C + 5, 9), KEY);
    byte[] swapped = stored.clone();
    System.arraycopy(stored, ChunkFormat.HEADER, swapped, ChunkFormat.HEADER + SEALED, SEALED);
    System.arraycopy(stored, ChunkFormat.HEADER + SEALED, swapped, ChunkFormat.HEADER, SEALED);
    assertThrows(DecryptingInputStream.AuthenticationException.class, () -> decrypt(CIPHER, swapped, KEY));
    byte[] repeated = stored.clone();
    System.arraycopy(stored, ChunkFormat.HEADER, repeated, ChunkFormat.HEADER + SEALED, SEALED);
    assertThrows(DecryptingInputStream.AuthenticationException.class, () -> decrypt(CIPHER, repeated, KEY));
  }

  @Test
  void anObjectUnderAnotherKeyOrBackupFails() throws IOException {
    byte[] stored = encrypt(CIPHER, bytes(100, 10), KEY);
    assertThrows(DecryptingInputStream.AuthenticationException.class,
        () -> decrypt(CIPHER, stored, "data/00002.0d269134.copy.zst"));
    ArtifactCipher otherBackup = DataKeys.newBackupKey(MASTER);
    assertThrows(DecryptingInputStream.AuthenticationException.class, () -> decrypt(otherBackup, stored, KEY));
  }

  @Test
  void dataKeyUnwrapsWithItsMasterKeyOnly() throws Exception {
    BackupEncryption e = CIPHER.record();
    assertEquals(ArtifactCipher.FORMAT, e.format());
    assertEquals(MASTER.keyId(), e.keyId());
    assertEquals(16, e.keyId().length());
    assertEquals(60, Base64.getDecoder().decode(e.wrappedKey()).length);
    ArtifactCipher again = DataKeys.unwrap(MASTER, e, "backup X");
    byte[] plain = bytes(C + 3, 11);
    assertArrayEquals(plain, decrypt(again, encrypt(CIPHER, plain, KEY), KEY));

    MasterKey other = MasterKey.of(bytes(32, 2));
    DataKeys.WrongKeyException wrong = assertThrows(DataKeys.WrongKeyException.class,
        () -> DataKeys.unwrap(other, e, "backup X"));
    assertTrue(wrong.getMessage().contains(e.keyId()) && wrong.getMessage().contains("backup X"),
        wrong.getMessage());
    DataKeys.WrongKeyException missing = assertThrows(DataKeys.WrongKeyException.class,
        () -> DataKeys.unwrap(null, e, "backup X"));
    assertTrue(missing.getMessage().contains(e.keyId()), missing.getMessage());
    // a key with the right id but a damaged wrap
    byte[] w = Base64.getDecoder().decode(e.wrappedKey());
    w[20] ^= 1;
    BackupEncryption damaged = new BackupEncryption(e.format(), e.keyId(), Base64.getEncoder().encodeToString(w));
    assertThrows(DataKeys.WrongKeyException.class, () -> DataKeys.unwrap(MASTER, damaged, "backup X"));
  }

  @Test
  void masterKeyParsesHexAndBase64AndNamesBadInput(@TempDir Path dir) throws IOException {
    byte[] k = bytes(32, 3);
    MasterKey hex = MasterKey.parse(HexFormat.of().formatHex(k) + "\n", "test");
    MasterKey b64 = MasterKey.parse(Base64.getEncoder().encodeToString(k), "test");
    assertEquals(hex.keyId(), b64.keyId());
    assertTrue(!hex.toString().contains(HexFormat.of().formatHex(k)));
    assertThrows(MasterKey.InvalidKeyException.class, () -> MasterKey.parse("abcd", "test"));
    assertThrows(MasterKey.InvalidKeyException.class,
        () -> MasterKey.parse(Base64.getEncoder().encodeToString(new byte[16]), "test"));
    assertThrows(MasterKey.InvalidKeyException.class, () -> MasterKey.parse("not a key!", "test"));
    Path f = dir.resolve("key");
    Files.writeString(f, Base64.getEncoder().encodeToString(k) + "\n");
    assertEquals(hex.keyId(), MasterKey.fromFile(f).keyId());
    MasterKey.InvalidKeyException e = assertThrows(MasterKey.InvalidKeyException.class,
        () -> MasterKey.fromFile(dir.resolve("nope")));
    assertTrue(e.getMessage().contains("nope") && !e.getMessage().contains("\n"), e.getMessage());
    assertEquals(hex.keyId(), MasterKey.resolve(null, Map.of(MasterKey.ENV, HexFormat.of().formatHex(k))).keyId());
    assertEquals(null, MasterKey.resolve(null, Map.of()));
  }
}
