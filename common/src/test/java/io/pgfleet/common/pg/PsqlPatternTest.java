package io.pgfleet.common.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PsqlPatternTest {
  @Test
  void aPatternWithoutADotMatchesTheNameInAnySchema() {
    assertThat(PsqlPattern.matchesRelation("orders", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("orders", "public", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("orders", "orders", "x")).isFalse();
  }

  @Test
  void aDottedPatternMatchesSchemaAndName() {
    assertThat(PsqlPattern.matchesRelation("app.orders", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("app.orders", "public", "orders")).isFalse();
    assertThat(PsqlPattern.matchesRelation("app.ord*", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("*.orders", "x", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("\"a.b\".c", "a.b", "c")).isTrue();
  }

  /** pg_dump's rule for -T and --exclude-table-data: without a schema, only a table visible in the search path. */
  @Test
  void aPatternWithoutADotMatchesOnlyAVisibleTableForPgDump() {
    assertThat(PsqlPattern.matchesRelation("orders", "public", "orders", true)).isTrue();
    assertThat(PsqlPattern.matchesRelation("orders", "app", "orders", false)).isFalse();
    assertThat(PsqlPattern.matchesRelation("app.orders", "app", "orders", false)).isTrue();
    assertThat(PsqlPattern.matchesRelation("*.orders", "app", "orders", false)).isTrue();
  }

  @Test
  void wildcardsMatchAnyAndOneCharacter() {
    assertThat(PsqlPattern.matchesName("ord?rs", "orders")).isTrue();
    assertThat(PsqlPattern.matchesName("ord?rs", "ordrs")).isFalse();
    assertThat(PsqlPattern.matchesName("a*", "a")).isTrue();
    assertThat(PsqlPattern.matchesName("a*", "abc")).isTrue();
    assertThat(PsqlPattern.matchesName("*", "")).isTrue();
    assertThat(PsqlPattern.matchesName("a*", "ba")).isFalse();
  }

  @Test
  void unquotedLettersAreFoldedQuotedOnesKeepCase() {
    assertThat(PsqlPattern.matchesRelation("APP.Orders", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("\"APP\".orders", "app", "orders")).isFalse();
    assertThat(PsqlPattern.matchesName("\"Sales\"", "Sales")).isTrue();
    assertThat(PsqlPattern.matchesName("Sales", "Sales")).isFalse();
    // as the server folds identifiers in UTF8: ASCII only
    assertThat(PsqlPattern.matchesName("Ärger", "Ärger")).isTrue();
    assertThat(PsqlPattern.matchesName("Ärger", "ärger")).isFalse();
  }

  @Test
  void quotesMakeEveryCharacterLiteral() {
    assertThat(PsqlPattern.matchesName("\"a*\"", "a*")).isTrue();
    assertThat(PsqlPattern.matchesName("\"a*\"", "abc")).isFalse();
    assertThat(PsqlPattern.matchesName("\"a?\"", "ab")).isFalse();
    assertThat(PsqlPattern.matchesName("\"we\"\"ird\"", "we\"ird")).isTrue();
    assertThat(PsqlPattern.matchesName("\"Order Notes ✓\"", "Order Notes ✓")).isTrue();
    assertThat(PsqlPattern.matchesName("\"a|b\"", "a")).isFalse();
    assertThat(PsqlPattern.matchesName("\"a|b\"", "a|b")).isTrue();
  }

  @Test
  void unquotedRegexCharactersWorkAsInPsqlAndDollarIsLiteral() {
    assertThat(PsqlPattern.matchesName("log_[0-9]", "log_7")).isTrue();
    assertThat(PsqlPattern.matchesName("log_[0-9]", "log_x")).isFalse();
    assertThat(PsqlPattern.matchesName("app|ops", "ops")).isTrue();
    assertThat(PsqlPattern.matchesName("app|ops", "appops")).isFalse();
    assertThat(PsqlPattern.matchesName("a$b", "a$b")).isTrue();
    assertThat(PsqlPattern.matchesName("x+", "xxx")).isTrue();
  }

  @Test
  void unreadablePatternsAreOneLineErrors() {
    assertThatThrownBy(() -> PsqlPattern.check("a.b.c")).hasMessageContaining("more than one dot");
    assertThatThrownBy(() -> PsqlPattern.check("\"open")).hasMessageContaining("unclosed double quote");
    assertThatThrownBy(() -> PsqlPattern.check("a[")).hasMessageContaining("not a valid psql pattern")
        .hasMessageNotContaining("\n");
    assertThatThrownBy(() -> PsqlPattern.checkName("db.app")).hasMessageContaining("has a dot");
    PsqlPattern.checkName("\"a.b\"");
    PsqlPattern.check("app.*");
  }
}
