package io.pgfleet.common.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Reads {@link ChunkFormat}'s chunks back, handing out a chunk's bytes only after its tag checked. A chunk is the
 * last one when the stream ends right after it; it must then carry the final flag, and every earlier chunk must
 * not, so a stream cut at a chunk boundary, a dropped, repeated or reordered chunk, or another object's chunk all
 * fail with {@link AuthenticationException}.
 */
public final class DecryptingInputStream extends InputStream {
  private final InputStream in;
  private final SecretKey key;
  private final String objectKeyName;
  private final byte[] objectKey;
  private final byte[] sealed = new byte[ChunkFormat.CHUNK + ChunkFormat.TAG + 1];
  private final byte[] plain = new byte[ChunkFormat.CHUNK];
  private final Cipher cipher;
  private byte[] prefix;
  private int sealedLen;
  private int pos;
  private int limit;
  private long index;
  private boolean done;

  public DecryptingInputStream(InputStream in, SecretKey key, String objectKey) {
    this.in = in;
    this.key = key;
    this.objectKeyName = objectKey;
    this.objectKey = ChunkFormat.keyBytes(objectKey);
    try {
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable in this JVM", e);
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (pos == limit) {
      if (done) {
        return -1;
      }
      next();
    }
    int n = Math.min(len, limit - pos);
    System.arraycopy(plain, pos, b, off, n);
    pos += n;
    return n;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private void next() throws IOException {
    if (prefix == null) {
      byte[] h = in.readNBytes(ChunkFormat.HEADER);
      if (h.length < ChunkFormat.HEADER || !Arrays.equals(Arrays.copyOf(h, 4), ChunkFormat.MAGIC)) {
        throw new AuthenticationException(objectKeyName + " is not a pgfleet encrypted object (no "
            + ArtifactCipher.FORMAT + " header): truncated or replaced");
      }
      if (h[4] != ChunkFormat.VERSION) {
        throw new AuthenticationException(objectKeyName + " has encrypted-format version " + h[4]
            + ", which this pgfleet does not read");
      }
      prefix = Arrays.copyOfRange(h, 8, 16);
      // One byte beyond a full chunk tells whether another chunk follows.
      sealedLen = in.readNBytes(sealed, 0, sealed.length);
    }
    boolean last = sealedLen < sealed.length;
    int n = last ? sealedLen : sealed.length - 1;
    if (n < ChunkFormat.TAG) {
      throw new AuthenticationException(objectKeyName + ": chunk " + index + " is cut short (" + n
          + " bytes): the object is truncated");
    }
    try {
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, ChunkFormat.nonce(prefix, index)));
      cipher.updateAAD(ChunkFormat.aad(objectKey, index, last));
      limit = cipher.doFinal(sealed, 0, n, plain, 0);
      pos = 0;
    } catch (AEADBadTagException e) {
      throw new AuthenticationException(objectKeyName + ": chunk " + index + " failed authentication: the object"
          + " is tampered with, truncated, reordered or not this key's");
    } catch (GeneralSecurityException e) {
      throw new IOException(objectKeyName + ": decrypting chunk " + index + " failed: " + e, e);
    }
    index++;
    if (last) {
      done = true;
    } else {
      sealed[0] = sealed[sealed.length - 1];
      sealedLen = 1 + in.readNBytes(sealed, 1, sealed.length - 1);
    }
  }

  /** An encrypted object that does not authenticate; the message names the object and the chunk. */
  public static final class AuthenticationException extends IOException {
    public AuthenticationException(String message) {
      super(message);
    }
  }
}
