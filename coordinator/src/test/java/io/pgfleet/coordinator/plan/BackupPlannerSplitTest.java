package io.pgfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.pg.TableInfo;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.task.Chunk;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The ctid split arithmetic (PostgreSQL 14+), which needs no connection: the chunks of a table must cover every
 * block from 0 to beyond its current end exactly once, whatever the page count and the wanted chunk count.
 */
class BackupPlannerSplitTest {
  private static final int PG14 = 140000;
  private static final int PG17 = 170004;

  private static TableInfo table(long blocks, String integerKey) {
    return new TableInfo(16384, new TableRef("app", "big"), List.of("id", "note"), blocks * 8192, blocks * 50,
        false, false, false, blocks, integerKey);
  }

  @ParameterizedTest
  @CsvSource({"2, 2", "3, 2", "100, 4", "101, 4", "7, 7", "7, 100", "15, 64", "1000, 3", "1000, 999",
      "4294967295, 1024", "123457, 1024", "2, 1024"})
  void ctidChunksCoverTheWholeTableOnceInEqualParts(long blocks, int want) throws Exception {
    List<String> notes = new ArrayList<>();
    List<Chunk> chunks = BackupPlanner.split(null, table(blocks, "id"), want, PG14, 300L << 20, notes);

    int k = (int) Math.min(want, blocks);
    assertThat(chunks).hasSize(k);
    assertThat(chunks.get(0).from()).isNull();
    assertThat(chunks.get(k - 1).to()).isNull();
    long previousEnd = 0;
    long smallest = Long.MAX_VALUE;
    long largest = 0;
    for (int i = 0; i < k; i++) {
      Chunk c = chunks.get(i);
      assertThat(c.index()).isEqualTo(i + 1);
      assertThat(c.count()).isEqualTo(k);
      assertThat(c.method()).isEqualTo(Chunk.CTID);
      assertThat(c.column()).isNull();
      long from = c.from() == null ? 0 : block(c.from());
      long to = c.to() == null ? blocks : block(c.to());
      // Contiguous: each chunk starts where the previous one ended, so no block is skipped or read twice.
      assertThat(from).as("start of chunk %d", i + 1).isEqualTo(previousEnd);
      assertThat(to).as("end of chunk %d", i + 1).isGreaterThan(from);
      previousEnd = to;
      smallest = Math.min(smallest, to - from);
      largest = Math.max(largest, to - from);
    }
    assertThat(previousEnd).isEqualTo(blocks);
    assertThat(largest - smallest).as("chunk sizes in blocks").isLessThanOrEqualTo(1);
    assertThat(notes).containsExactly("table \"app\".\"big\" (~300 MB of COPY text) split into " + k
        + " chunks by ctid range");
  }

  @Test
  void theBoundsAreTupleIdsOfWholePages() throws Exception {
    List<Chunk> chunks = BackupPlanner.split(null, table(100, null), 4, PG17, 1L << 30, new ArrayList<>());
    assertThat(chunks).extracting(Chunk::from).containsExactly(null, "(25,0)", "(50,0)", "(75,0)");
    assertThat(chunks).extracting(Chunk::to).containsExactly("(25,0)", "(50,0)", "(75,0)", null);
    assertThat(chunks.get(0).predicate()).isEqualTo("ctid < '(25,0)'::tid");
    assertThat(chunks.get(3).predicate()).isEqualTo("ctid >= '(75,0)'::tid");
  }

  @Test
  void aTableOfOnePageOrNoneIsNotSplit() throws Exception {
    for (long blocks : new long[] {0, 1}) {
      List<String> notes = new ArrayList<>();
      // A TOAST-heavy table can be far above the threshold with one heap page: ctid cannot split it.
      assertThat(BackupPlanner.split(null, table(blocks, "id"), 16, PG14, 2L << 30, notes)).isEmpty();
      assertThat(notes).isEmpty();
    }
  }

  @Test
  void beforeFourteenATableWithoutAnIntegerKeyIsNotSplitAndTheNoteSaysWhy() throws Exception {
    List<String> notes = new ArrayList<>();
    assertThat(BackupPlanner.split(null, table(1000, null), 8, 130012, 700L << 20, notes)).isEmpty();
    assertThat(notes).containsExactly("table \"app\".\"big\" (~700 MB) not split: PostgreSQL 13 has no TID range"
        + " scan (14+) and the table has no single-column integer primary key to split on");
  }

  private static long block(String tid) {
    assertThat(tid).matches("\\(\\d+,0\\)");
    return Long.parseLong(tid.substring(1, tid.indexOf(',')));
  }
}
