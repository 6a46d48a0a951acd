package io.pgfleet.common.stream;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Passes COPY text through while counting rows and bytes and computing an order-independent digest of the rows.
 *
 * <p>Algorithm {@value #ALGORITHM}: each row is its COPY text line without the terminating newline (text format
 * escapes newlines inside values, so every 0x0A byte ends a row); the row's value is the first 16 bytes of its
 * SHA-256 read as an unsigned big-endian 128-bit integer; the digest is the sum of all row values modulo 2^128,
 * as 32 lowercase hex digits. A sum, unlike XOR, does not cancel duplicate rows, and it does not depend on the
 * order rows come in, so a table restored elsewhere and read back gives the same digest.
 */
public final class RowDigest extends FilterOutputStream {
  public static final String ALGORITHM = "rowsum128-sha256";

  private final MessageDigest row;
  private final byte[] h = new byte[32];
  private long hi;
  private long lo;
  private long rows;
  private long bytes;
  private boolean rowOpen;

  public RowDigest(OutputStream out) {
    super(out);
    try {
      row = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    update(b, off, len);
    out.write(b, off, len);
  }

  /** Digests without writing anywhere: used to re-read a table and compare. */
  public void update(byte[] b, int off, int len) {
    bytes += len;
    int start = off;
    int end = off + len;
    for (int i = off; i < end; i++) {
      if (b[i] == '\n') {
        row.update(b, start, i - start);
        finishRow();
        start = i + 1;
      }
    }
    if (start < end) {
      row.update(b, start, end - start);
      rowOpen = true;
    }
  }

  private void finishRow() {
    try {
      row.digest(h, 0, h.length);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException(e);
    }
    long addHi = 0;
    long addLo = 0;
    for (int i = 0; i < 8; i++) {
      addHi = (addHi << 8) | (h[i] & 0xff);
      addLo = (addLo << 8) | (h[8 + i] & 0xff);
    }
    long newLo = lo + addLo;
    long carry = Long.compareUnsigned(newLo, lo) < 0 ? 1 : 0;
    lo = newLo;
    hi = hi + addHi + carry;
    rows++;
    rowOpen = false;
  }

  /**
   * The digest of the union of several row sets, from their digests: since a digest is a sum of row values modulo
   * 2^128, the digests of a table's chunks add up to the digest of the whole table, whichever way its rows were
   * split (ctid ranges at dump time, none at all when a restored table is read back).
   *
   * @param digests digests of this algorithm, 32 hex digits each
   */
  public static String combine(java.util.Collection<String> digests) {
    java.math.BigInteger sum = java.math.BigInteger.ZERO;
    for (String d : digests) {
      if (d == null || d.length() != 32) {
        throw new IllegalArgumentException("not a " + ALGORITHM + " digest: " + d);
      }
      sum = sum.add(new java.math.BigInteger(d, 16));
    }
    String hex = sum.mod(java.math.BigInteger.ONE.shiftLeft(128)).toString(16);
    return "0".repeat(32 - hex.length()) + hex;
  }

  public long rows() {
    return rows;
  }

  public long bytes() {
    return bytes;
  }

  /** The digest so far; a COPY stream always ends in a newline, so a trailing partial row is a truncated stream. */
  public String digest() {
    if (rowOpen) {
      throw new IllegalStateException("COPY stream ended inside a row (" + rows + " complete rows): truncated");
    }
    return String.format("%016x%016x", hi, lo);
  }
}
