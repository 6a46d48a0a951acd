package io.pgfleet.common.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sha256CounterTest {

  @Test
  void emptyStreamIsTheSha256OfNothing() {
    Sha256Counter c = new Sha256Counter(new ByteArrayOutputStream());
    assertThat(c.bytes()).isZero();
    assertThat(c.sha256()).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void matchesMessageDigestAndCountsBytesAcrossMixedWrites() throws Exception {
    byte[] data = new byte[300_001];
    new Random(1).nextBytes(data);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    Sha256Counter c = new Sha256Counter(sink);
    c.write(data[0]);
    c.write(data, 1, 1000);
    c.write(data, 1001, 0);
    for (int i = 1001; i < 1101; i++) {
      c.write(data[i] & 0xff);
    }
    c.write(data, 1101, data.length - 1101);
    c.flush();
    String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    assertThat(c.bytes()).isEqualTo(data.length);
    assertThat(c.sha256()).isEqualTo(expected).hasSize(64).matches("[0-9a-f]{64}");
    assertThat(sink.toByteArray()).isEqualTo(data);
  }

  @Test
  void negativeIntWritesAreHashedAsTheirLowByte() throws Exception {
    Sha256Counter c = new Sha256Counter(new ByteArrayOutputStream());
    c.write(-1);
    c.write(0x141);
    String expected = HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(new byte[] {(byte) 0xff, 0x41}));
    assertThat(c.sha256()).isEqualTo(expected);
    assertThat(c.bytes()).isEqualTo(2);
  }

  @Test
  void newSha256ReturnsFreshDigests() {
    MessageDigest a = Sha256Counter.newSha256();
    MessageDigest b = Sha256Counter.newSha256();
    assertThat(a).isNotSameAs(b);
    assertThat(a.getAlgorithm()).isEqualTo("SHA-256");
  }
}
