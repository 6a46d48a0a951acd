package io.pgfleet.common.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The layout shared by {@link EncryptingOutputStream} and {@link DecryptingInputStream} (docs/repository-format.md,
 * "Encryption"): a 16-byte header ({@code PGFE}, version 1, three zero bytes, an 8-byte random nonce prefix), then
 * chunks of {@link #CHUNK} plaintext bytes, each stored as its AES-256-GCM ciphertext and 16-byte tag; the last chunk
 * holds 0 to {@link #CHUNK} bytes and is the only one flagged final. Chunk i's nonce is the prefix followed by i as a
 * 4-byte big-endian integer; its AAD is the object key (UTF-8), then i as 8 bytes big-endian, then 1 for the final
 * chunk and 0 otherwise.
 */
final class ChunkFormat {
  static final int CHUNK = 64 * 1024;
  static final int TAG = 16;
  static final int HEADER = 16;
  static final byte[] MAGIC = {'P', 'G', 'F', 'E'};
  static final byte VERSION = 1;

  private ChunkFormat() {}

  static byte[] nonce(byte[] prefix, long index) {
    if (index > 0xffffffffL) {
      throw new IllegalStateException("an encrypted object holds at most 2^32 chunks (256 TiB)");
    }
    return ByteBuffer.allocate(12).put(prefix).putInt((int) index).array();
  }

  static byte[] aad(byte[] objectKey, long index, boolean last) {
    return ByteBuffer.allocate(objectKey.length + 9).put(objectKey).putLong(index).put((byte) (last ? 1 : 0))
        .array();
  }

  static byte[] keyBytes(String objectKey) {
    return objectKey.getBytes(StandardCharsets.UTF_8);
  }
}
