package io.pgfleet.common.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RowDigestTest {
  private static final BigInteger MOD = BigInteger.ONE.shiftLeft(128);
  private static final BigInteger LOW64 = BigInteger.ONE.shiftLeft(64);

  /** Reference: sum over rows of the first 16 bytes of SHA-256 (unsigned big-endian) mod 2^128, 32 hex digits. */
  private static String reference(List<byte[]> rows) throws Exception {
    BigInteger sum = BigInteger.ZERO;
    for (byte[] r : rows) {
      sum = sum.add(rowValue(r));
    }
    return String.format("%032x", sum.mod(MOD));
  }

  private static BigInteger rowValue(byte[] row) throws Exception {
    byte[] h = MessageDigest.getInstance("SHA-256").digest(row);
    return new BigInteger(1, Arrays.copyOf(h, 16));
  }

  private static byte[] stream(List<byte[]> rows) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (byte[] r : rows) {
      b.writeBytes(r);
      b.write('\n');
    }
    return b.toByteArray();
  }

  private static List<byte[]> rows(String... rows) {
    List<byte[]> l = new ArrayList<>();
    for (String r : rows) {
      l.add(r.getBytes(StandardCharsets.UTF_8));
    }
    return l;
  }

  private static RowDigest digestOf(byte[] data) throws IOException {
    RowDigest d = new RowDigest(OutputStream.nullOutputStream());
    d.write(data, 0, data.length);
    return d;
  }

  @Test
  void algorithmNameIsStable() {
    assertThat(RowDigest.ALGORITHM).isEqualTo("rowsum128-sha256");
  }

  @Test
  void emptyStreamDigestIs32Zeros() throws IOException {
    RowDigest d = new RowDigest(OutputStream.nullOutputStream());
    assertThat(d.digest()).isEqualTo("0".repeat(32));
    assertThat(d.rows()).isZero();
    assertThat(d.bytes()).isZero();
    d.write(new byte[0], 0, 0);
    assertThat(d.digest()).isEqualTo("0".repeat(32));
  }

  @Test
  void digestMatchesReferenceForSmallStream() throws Exception {
    List<byte[]> rows = rows("1\talice\t\\N", "2\tbob\t42", "3\tÜnïcode\t\\\\n", "");
    RowDigest d = digestOf(stream(rows));
    assertThat(d.digest()).isEqualTo(reference(rows)).hasSize(32).matches("[0-9a-f]{32}");
  }

  @Test
  void sameRowsInAnyOrderGiveSameDigest() throws Exception {
    List<byte[]> rows = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      rows.add(("row-" + i + "\tvalue " + (i * 31)).getBytes(StandardCharsets.UTF_8));
    }
    String original = digestOf(stream(rows)).digest();
    Random rnd = new Random(42);
    for (int k = 0; k < 10; k++) {
      List<byte[]> shuffled = new ArrayList<>(rows);
      Collections.shuffle(shuffled, rnd);
      assertThat(digestOf(stream(shuffled)).digest()).isEqualTo(original);
    }
    List<byte[]> reversed = new ArrayList<>(rows);
    Collections.reverse(reversed);
    assertThat(digestOf(stream(reversed)).digest()).isEqualTo(original).isEqualTo(reference(rows));
  }

  @Test
  void duplicatedRowChangesDigestBecauseItIsASumNotXor() throws Exception {
    List<byte[]> base = rows("a", "b");
    List<byte[]> dupTwice = rows("a", "b", "b", "b");
    List<byte[]> dup = rows("a", "b", "b");
    String baseDigest = digestOf(stream(base)).digest();
    // With XOR, a row present twice would cancel: {a,b,b,b} would equal {a,b} and {a,b,b} would equal {a}.
    assertThat(digestOf(stream(dupTwice)).digest()).isNotEqualTo(baseDigest).isEqualTo(reference(dupTwice));
    assertThat(digestOf(stream(dup)).digest()).isNotEqualTo(baseDigest)
        .isNotEqualTo(digestOf(stream(rows("a"))).digest())
        .isEqualTo(reference(dup));
    // A pair of identical rows does not vanish.
    assertThat(digestOf(stream(rows("x", "x"))).digest()).isNotEqualTo("0".repeat(32));
  }

  @Test
  void everySplitOffsetGivesTheSameDigestAsOneWrite() throws Exception {
    List<byte[]> rows = rows("1\tab", "", "22\tc\\nd", "333");
    byte[] data = stream(rows);
    String expected = reference(rows);
    RowDigest whole = digestOf(data);
    assertThat(whole.digest()).isEqualTo(expected);
    for (int i = 0; i <= data.length; i++) {
      for (int j = i; j <= data.length; j++) {
        RowDigest d = new RowDigest(OutputStream.nullOutputStream());
        d.write(data, 0, i);
        d.write(data, i, j - i);
        d.write(data, j, data.length - j);
        assertThat(d.digest()).as("split at %d and %d", i, j).isEqualTo(expected);
        assertThat(d.rows()).isEqualTo(4);
        assertThat(d.bytes()).isEqualTo(data.length);
      }
    }
  }

  @Test
  void singleByteWritesAndUpdateGiveTheSameDigest() throws Exception {
    List<byte[]> rows = rows("x\ty", "zz", "Ünïcode");
    byte[] data = stream(rows);
    RowDigest bytewise = new RowDigest(OutputStream.nullOutputStream());
    for (byte b : data) {
      bytewise.write(b);
    }
    RowDigest viaUpdate = new RowDigest(OutputStream.nullOutputStream());
    viaUpdate.update(data, 0, data.length);
    assertThat(bytewise.digest()).isEqualTo(reference(rows));
    assertThat(viaUpdate.digest()).isEqualTo(reference(rows));
    assertThat(bytewise.rows()).isEqualTo(3);
    assertThat(viaUpdate.rows()).isEqualTo(3);
    assertThat(viaUpdate.bytes()).isEqualTo(data.length);
  }

  @Test
  void writeHonoursOffsetAndLength() throws Exception {
    byte[] data = "JUNKa\nb\nJUNK".getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    RowDigest d = new RowDigest(sink);
    d.write(data, 4, 4);
    assertThat(d.digest()).isEqualTo(reference(rows("a", "b")));
    assertThat(d.bytes()).isEqualTo(4);
    assertThat(sink.toString(StandardCharsets.UTF_8)).isEqualTo("a\nb\n");
  }

  @Test
  void passesBytesThroughUnchangedAndCountsRowsAndBytes() throws Exception {
    List<byte[]> rows = rows("1\tone", "2\ttwo", "3\tthree");
    byte[] data = stream(rows);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (RowDigest d = new RowDigest(sink)) {
      d.write(data, 0, 5);
      d.write(data[5]);
      d.write(data, 6, data.length - 6);
      assertThat(d.rows()).isEqualTo(3);
      assertThat(d.bytes()).isEqualTo(data.length);
      assertThat(d.digest()).isEqualTo(reference(rows));
    }
    assertThat(sink.toByteArray()).isEqualTo(data);
  }

  @Test
  void streamEndingMidRowMakesDigestThrow() throws Exception {
    RowDigest d = new RowDigest(OutputStream.nullOutputStream());
    byte[] data = "a\nb\ntrunc".getBytes(StandardCharsets.UTF_8);
    d.write(data, 0, data.length);
    assertThat(d.rows()).isEqualTo(2);
    assertThatThrownBy(d::digest).isInstanceOf(IllegalStateException.class).hasMessageContaining("truncated");
    // Completing the row makes the digest valid again, and it counts the completed row.
    d.write('\n');
    assertThat(d.digest()).isEqualTo(reference(rows("a", "b", "trunc")));
    assertThat(d.rows()).isEqualTo(3);
  }

  @Test
  void streamWithOnlyAPartialRowThrows() throws Exception {
    RowDigest d = digestOf("no newline".getBytes(StandardCharsets.UTF_8));
    assertThat(d.rows()).isZero();
    assertThatThrownBy(d::digest).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void carryAcrossLow64BitsAndWrapModulo2To128MatchReference() throws Exception {
    Random rnd = new Random(7);
    List<byte[]> rows = new ArrayList<>();
    BigInteger low = BigInteger.ZERO;
    BigInteger unbounded = BigInteger.ZERO;
    int carries = 0;
    RowDigest d = new RowDigest(OutputStream.nullOutputStream());
    for (int i = 0; i < 3000; i++) {
      byte[] row = new byte[1 + rnd.nextInt(40)];
      for (int k = 0; k < row.length; k++) {
        row[k] = (byte) ('!' + rnd.nextInt(90)); // printable, never '\n'
      }
      rows.add(row);
      BigInteger v = rowValue(row);
      unbounded = unbounded.add(v);
      BigInteger newLow = low.add(v.mod(LOW64));
      if (newLow.compareTo(LOW64) >= 0) {
        carries++;
      }
      low = newLow.mod(LOW64);
      byte[] line = Arrays.copyOf(row, row.length + 1);
      line[row.length] = '\n';
      d.write(line, 0, line.length);
      if (i % 500 == 499) {
        assertThat(d.digest()).as("after %d rows", i + 1).isEqualTo(reference(rows));
      }
    }
    // The data really exercised both the carry from the low half and the wrap of the whole sum.
    assertThat(carries).isGreaterThan(100);
    assertThat(unbounded).isGreaterThan(MOD);
    assertThat(d.digest()).isEqualTo(reference(rows));
    assertThat(d.rows()).isEqualTo(3000);
  }
}
