package io.pgfleet.common.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class DumpFilterTest {
  private static DumpFilter filter(List<String> n, List<String> bigN, List<String> bigT, List<String> data) {
    return new DumpFilter(n, bigN, bigT, data);
  }

  @Test
  void schemasSelectAndExclusionsTakeAway() {
    DumpFilter f = filter(List.of("app", "\"Ops\""), List.of("app_tmp"), List.of("app.big*"), List.of());
    assertThat(f.includes("app", "orders", false)).isTrue();
    assertThat(f.includes("Ops", "jobs", false)).isTrue();
    assertThat(f.includes("ops", "jobs", false)).isFalse();
    assertThat(f.includes("public", "orders", true)).isFalse();
    assertThat(f.includes("app", "big_log", false)).isFalse();
    assertThat(filter(List.of(), List.of("app*"), List.of(), List.of()).includes("app_tmp", "x", false)).isFalse();
    assertThat(DumpFilter.NONE.includes("any", "thing", false)).isTrue();
  }

  @Test
  void aTablePatternWithoutSchemaNeedsAVisibleTable() {
    DumpFilter f = filter(List.of(), List.of(), List.of("settings"), List.of("log_*"));
    assertThat(f.includes("public", "settings", true)).isFalse();
    assertThat(f.includes("app", "settings", false)).isTrue();
    assertThat(f.excludesData("public", "log_1", true)).isTrue();
    assertThat(f.excludesData("app", "log_1", false)).isFalse();
  }

  @Test
  void pgDumpGetsOneArgumentPerPatternAndBadPatternsAreNamed() {
    DumpFilter f = filter(List.of("a b"), List.of("x"), List.of("s.t"), List.of("\"Big\""));
    assertThat(f.pgDumpArgs()).containsExactly("--schema=a b", "--exclude-schema=x", "--exclude-table=s.t",
        "--exclude-table-data=\"Big\"");
    assertThat(f.describe()).isEqualTo("-n a b -N x -T s.t --exclude-table-data \"Big\"");
    assertThat(DumpFilter.NONE.describe()).isEqualTo("whole database");
    assertThatThrownBy(() -> filter(List.of("db.app"), List.of(), List.of(), List.of()).check())
        .hasMessageStartingWith("-n db.app: ").hasMessageContaining("has a dot");
    assertThatThrownBy(() -> filter(List.of(), List.of(), List.of("a.b.c"), List.of()).check())
        .hasMessageStartingWith("-T a.b.c: ");
    assertThatThrownBy(() -> filter(List.of(), List.of(), List.of(), List.of("")).check())
        .hasMessageContaining("--exclude-table-data needs a pattern");
  }
}
