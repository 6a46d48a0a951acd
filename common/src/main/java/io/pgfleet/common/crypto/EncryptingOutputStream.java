package io.pgfleet.common.crypto;

import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Encrypts a stream into {@link ChunkFormat}'s chunks, holding at most one chunk. A full chunk is written only once
 * a further byte arrives, because only then is it known not to be the last: the final flag in the last chunk's AAD
 * is what makes a stream cut at a chunk boundary fail to decrypt.
 */
public final class EncryptingOutputStream extends OutputStream {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final OutputStream out;
  private final SecretKey key;
  private final byte[] objectKey;
  private final byte[] prefix = new byte[8];
  private final byte[] plain = new byte[ChunkFormat.CHUNK];
  private final byte[] sealed = new byte[ChunkFormat.CHUNK + ChunkFormat.TAG];
  private final Cipher cipher;
  private int filled;
  private long index;
  private boolean headerWritten;
  private boolean finished;

  public EncryptingOutputStream(OutputStream out, SecretKey key, String objectKey) {
    this.out = out;
    this.key = key;
    this.objectKey = ChunkFormat.keyBytes(objectKey);
    RANDOM.nextBytes(prefix);
    try {
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable in this JVM", e);
    }
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (finished) {
      throw new IOException("write after the encrypted stream was finished");
    }
    while (len > 0) {
      if (filled == plain.length) {
        seal(false);
      }
      int n = Math.min(len, plain.length - filled);
      System.arraycopy(b, off, plain, filled, n);
      filled += n;
      off += n;
      len -= n;
    }
  }

  /** Writes the last chunk (possibly empty) without closing the underlying stream. */
  public void finish() throws IOException {
    if (!finished) {
      seal(true);
      finished = true;
      out.flush();
    }
  }

  @Override
  public void flush() throws IOException {
    // A partial chunk stays buffered: flushing cannot end a chunk early without breaking the fixed chunk size.
    out.flush();
  }

  @Override
  public void close() throws IOException {
    try {
      finish();
    } finally {
      out.close();
    }
  }

  private void seal(boolean last) throws IOException {
    if (!headerWritten) {
      out.write(ChunkFormat.MAGIC);
      out.write(new byte[] {ChunkFormat.VERSION, 0, 0, 0});
      out.write(prefix);
      headerWritten = true;
    }
    int n;
    try {
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, ChunkFormat.nonce(prefix, index)));
      cipher.updateAAD(ChunkFormat.aad(objectKey, index, last));
      n = cipher.doFinal(plain, 0, filled, sealed, 0);
    } catch (GeneralSecurityException e) {
      throw new IOException("encrypting chunk " + index + " failed: " + e, e);
    }
    out.write(sealed, 0, n);
    index++;
    filled = 0;
  }
}
