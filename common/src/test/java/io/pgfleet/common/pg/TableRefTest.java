package io.pgfleet.common.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableRefTest {

  @Test
  void qualifiedQuotesBothParts() {
    assertThat(new TableRef("public", "users").qualified()).isEqualTo("\"public\".\"users\"");
  }

  @Test
  void qualifiedHandlesTrickyNames() {
    assertThat(new TableRef("My Schema", "we\"ird.name").qualified())
        .isEqualTo("\"My Schema\".\"we\"\"ird.name\"");
    assertThat(new TableRef("a.b", "c").qualified()).isEqualTo("\"a.b\".\"c\"");
    assertThat(new TableRef("a", "b.c").qualified()).isEqualTo("\"a\".\"b.c\"");
    assertThat(new TableRef("Ünïcode", "Tâble Name").qualified()).isEqualTo("\"Ünïcode\".\"Tâble Name\"");
    assertThat(new TableRef("UPPER", "lower").qualified()).isEqualTo("\"UPPER\".\"lower\"");
    assertThat(new TableRef("s", "x'; drop table y; --").qualified()).isEqualTo("\"s\".\"x'; drop table y; --\"");
    assertThat(new TableRef("\"", "\"").qualified()).isEqualTo("\"\"\"\".\"\"\"\"");
  }

  @Test
  void namesThatLookAlikeWhenJoinedStayDistinct() {
    // "a.b"."c" and "a"."b.c" would both be a.b.c unquoted.
    assertThat(new TableRef("a.b", "c").qualified()).isNotEqualTo(new TableRef("a", "b.c").qualified());
  }

  @Test
  void exactPatternAndToStringMatchQualified() {
    TableRef t = new TableRef("My Schema", "we\"ird");
    assertThat(t.exactPattern()).isEqualTo(t.qualified());
    assertThat(t.toString()).isEqualTo(t.qualified());
  }

  @Test
  void nullPartsAreRejected() {
    assertThatThrownBy(() -> new TableRef(null, "x")).isInstanceOf(NullPointerException.class).hasMessage("schema");
    assertThatThrownBy(() -> new TableRef("x", null)).isInstanceOf(NullPointerException.class).hasMessage("name");
  }

  @Test
  void sortsBySchemaThenName() {
    List<TableRef> l = new ArrayList<>(List.of(
        new TableRef("b", "a"), new TableRef("a", "z"), new TableRef("a", "b"), new TableRef("A", "z")));
    Collections.sort(l);
    assertThat(l).containsExactly(
        new TableRef("A", "z"), new TableRef("a", "b"), new TableRef("a", "z"), new TableRef("b", "a"));
  }
}
