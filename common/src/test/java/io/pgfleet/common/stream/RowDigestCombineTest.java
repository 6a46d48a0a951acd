package io.pgfleet.common.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A split table's chunk digests add up to the digest of the whole table read back in any order. */
class RowDigestCombineTest {
  private static String digest(List<String> rows) throws IOException {
    RowDigest d = new RowDigest(OutputStream.nullOutputStream());
    for (String r : rows) {
      d.write((r + "\n").getBytes(StandardCharsets.UTF_8));
    }
    return d.digest();
  }

  @Test
  void chunkDigestsCombineToTheWholeTablesDigestWhateverTheSplit() throws IOException {
    List<String> rows = new ArrayList<>();
    Random rnd = new Random(7);
    for (int i = 0; i < 5000; i++) {
      rows.add(i + "\t" + Long.toHexString(rnd.nextLong()) + "\t\\N\tä\\tb");
    }
    rows.add(rows.get(3)); // a duplicate row counts twice
    String whole = digest(rows);
    for (int chunks : new int[] {1, 2, 3, 7, 64}) {
      List<String> parts = new ArrayList<>();
      int size = (rows.size() + chunks - 1) / chunks;
      for (int i = 0; i < rows.size(); i += size) {
        parts.add(digest(rows.subList(i, Math.min(rows.size(), i + size))));
      }
      assertThat(RowDigest.combine(parts)).as("%d chunks", chunks).isEqualTo(whole);
    }
    List<String> shuffled = new ArrayList<>(rows);
    java.util.Collections.shuffle(shuffled, rnd);
    assertThat(digest(shuffled)).isEqualTo(whole);
  }

  @Test
  void theSumWrapsModulo2To128AndEmptyChunksAddNothing() {
    String max = "f".repeat(32);
    assertThat(RowDigest.combine(List.of(max, "0".repeat(31) + "1"))).isEqualTo("0".repeat(32));
    assertThat(RowDigest.combine(List.of())).isEqualTo("0".repeat(32));
    assertThat(RowDigest.combine(List.of("0".repeat(32), "00000000000000000000000000000abc")))
        .isEqualTo("00000000000000000000000000000abc");
  }

  @Test
  void oneChangedRowChangesTheCombinedDigest() throws IOException {
    String a = digest(List.of("1\talpha", "2\tbeta"));
    String b = digest(List.of("3\tgamma"));
    String changed = digest(List.of("3\tgammb"));
    assertThat(RowDigest.combine(List.of(a, b))).isNotEqualTo(RowDigest.combine(List.of(a, changed)));
  }

  @Test
  void refusesWhatIsNotADigest() {
    assertThatThrownBy(() -> RowDigest.combine(List.of("abc"))).isInstanceOf(IllegalArgumentException.class);
  }
}
