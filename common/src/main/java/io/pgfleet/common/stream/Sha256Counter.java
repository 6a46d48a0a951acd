package io.pgfleet.common.stream;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Counts and hashes the bytes that pass through: what the repository stores, as the manifest records it. */
public final class Sha256Counter extends FilterOutputStream {
  private final MessageDigest sha;
  private long bytes;

  public Sha256Counter(OutputStream out) {
    super(out);
    sha = newSha256();
  }

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void write(int b) throws IOException {
    sha.update((byte) b);
    bytes++;
    out.write(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    sha.update(b, off, len);
    bytes += len;
    out.write(b, off, len);
  }

  public long bytes() {
    return bytes;
  }

  /** Finishes the hash; call once, after the last write. */
  public String sha256() {
    return HexFormat.of().formatHex(sha.digest());
  }
}
