package io.pgfleet.common.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PgIdentTest {

  @Test
  void quoteAlwaysQuotes() {
    assertThat(PgIdent.quote("users")).isEqualTo("\"users\"");
    assertThat(PgIdent.quote("")).isEqualTo("\"\"");
  }

  @Test
  void quoteDoublesEmbeddedDoubleQuotes() {
    assertThat(PgIdent.quote("a\"b")).isEqualTo("\"a\"\"b\"");
    assertThat(PgIdent.quote("\"")).isEqualTo("\"\"\"\"");
    assertThat(PgIdent.quote("\"\"x\"")).isEqualTo("\"\"\"\"\"x\"\"\"");
  }

  @Test
  void quoteKeepsUnicodeSpacesCaseAndOtherPunctuationVerbatim() {
    assertThat(PgIdent.quote("Ünïcode tâble")).isEqualTo("\"Ünïcode tâble\"");
    assertThat(PgIdent.quote("MixedCase")).isEqualTo("\"MixedCase\"");
    assertThat(PgIdent.quote("a.b; DROP TABLE x; --")).isEqualTo("\"a.b; DROP TABLE x; --\"");
    assertThat(PgIdent.quote("it's")).isEqualTo("\"it's\"");
    assertThat(PgIdent.quote("日本語")).isEqualTo("\"日本語\"");
  }

  @Test
  void quoteRejectsNul() {
    assertThatThrownBy(() -> PgIdent.quote("a\0b")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("NUL");
  }

  @Test
  void columnListQuotesEachAndJoins() {
    assertThat(PgIdent.columnList(List.of("id", "Full Name", "we\"ird"))).isEqualTo("\"id\", \"Full Name\", \"we\"\"ird\"");
    assertThat(PgIdent.columnList(List.of())).isEmpty();
  }

  @Test
  void literalDoublesSingleQuotes() {
    assertThat(PgIdent.literal("O'Reilly")).isEqualTo("'O''Reilly'");
    assertThat(PgIdent.literal("''")).isEqualTo("''''''");
    assertThat(PgIdent.literal("")).isEqualTo("''");
    assertThat(PgIdent.literal("Ünï \"x\"")).isEqualTo("'Ünï \"x\"'");
  }

  @Test
  void literalLeavesBackslashesAloneUnderStandardConformingStrings() {
    assertThat(PgIdent.literal("C:\\path\\'x")).isEqualTo("'C:\\path\\''x'");
  }
}
