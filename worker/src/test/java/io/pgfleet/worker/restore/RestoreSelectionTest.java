package io.pgfleet.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgfleet.common.pg.PsqlPattern;
import io.pgfleet.common.pg.TableRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Which TOC entries a selection takes, on a small archive built by hand with pg_dump's entry types. */
class RestoreSelectionTest {
  private static final List<ArchiveToc.Entry> ENTRIES = new ArrayList<>();

  private static int add(int id, String type, String schema, String name, String section, Integer... deps) {
    ENTRIES.add(new ArchiveToc.Entry(id, id, type, schema, name, List.of(deps), section, id + "; 0 " + id + " " + type));
    return id;
  }

  static {
    add(1, "SCHEMA", null, "app", "pre-data");
    add(2, "SCHEMA", null, "audit", "pre-data");
    add(3, "FUNCTION", "audit", "log_fn()", "pre-data", 2);
    add(10, "TABLE", "app", "customers", "pre-data", 1);
    add(11, "TABLE", "app", "orders", "pre-data", 1);
    add(12, "SEQUENCE", "app", "orders_id_seq", "pre-data", 11);
    add(13, "SEQUENCE OWNED BY", "app", "orders_id_seq", "pre-data", 12, 11);
    add(14, "DEFAULT", "app", "orders id", "pre-data", 11, 12);
    add(15, "TABLE", "app", "parent", "pre-data", 1);
    add(16, "TABLE", "app", "child", "pre-data", 15);
    add(17, "ACL", "app", "TABLE orders", "pre-data", 11);
    add(20, "SEQUENCE SET", "app", "orders_id_seq", "data");
    add(30, "CONSTRAINT", "app", "orders orders_pkey", "post-data", 11);
    add(31, "INDEX", "app", "child_idx", "post-data", 16);
    add(32, "FK CONSTRAINT", "app", "orders orders_customer_fk", "post-data", 11, 10);
    add(33, "TRIGGER", "app", "orders orders_audit", "post-data", 11, 3);
  }

  private static final ArchiveToc TOC = ArchiveToc.of(ENTRIES);

  private static Set<Integer> ids(RestoreSelection.Choice c) {
    return c.entries().stream().map(ArchiveToc.Entry::dumpId).collect(Collectors.toSet());
  }

  private static RestoreSelection tables(String... patterns) {
    return new RestoreSelection(List.of(), List.of(patterns), List.of());
  }

  @Test
  void aTableBringsItsOwnedSequenceDefaultGrantsAndPostDataButNotOtherTables() {
    RestoreSelection.Choice c = tables("app.orders").choose(TOC);
    assertThat(ids(c)).contains(11, 12, 13, 14, 17, 20, 30).doesNotContain(10, 15, 16, 31);
  }

  @Test
  void aForeignKeyToAnAbsentTableIsLeftOutWithANoteAndKeptWhenTheTargetHasIt() {
    RestoreSelection.Choice alone = tables("app.orders").choose(TOC);
    assertThat(ids(alone)).doesNotContain(32);
    assertThat(alone.notes()).singleElement().asString()
        .contains("orders_customer_fk").contains("app.customers").contains("neither selected nor in the target");
    RestoreSelection.Choice repair = tables("app.orders").choose(TOC, (s, n) -> s.equals("app")
        && n.equals("customers"));
    assertThat(ids(repair)).contains(32);
    assertThat(repair.notes()).isEmpty();
  }

  @Test
  void aDependentNeedsEveryRelationItTouches() {
    // The audit trigger calls a function of the selected schema but belongs to app.orders, which is not selected.
    RestoreSelection.Choice c = new RestoreSelection(List.of("audit"), List.of(), List.of()).choose(TOC);
    assertThat(ids(c)).contains(2, 3).doesNotContain(11, 33);
    // With the table selected too, the trigger comes along (its function comes from the target or elsewhere).
    assertThat(ids(tables("app.orders").choose(TOC))).contains(33);
  }

  @Test
  void excludingATableLeavesOutWhatDependsOnIt() {
    RestoreSelection.Choice c = new RestoreSelection(List.of(), List.of(), List.of("app.parent")).choose(TOC);
    assertThat(ids(c)).doesNotContain(15, 16, 31).contains(10, 11, 12, 30);
  }

  @Test
  void patternsFollowPsql() {
    assertThat(PsqlPattern.matchesRelation("app.ord*", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("APP.Orders", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("\"APP\".orders", "app", "orders")).isFalse();
    assertThat(PsqlPattern.matchesRelation("\"Order Notes ✓\"", "public", "Order Notes ✓")).isTrue();
    assertThat(PsqlPattern.matchesRelation("ord?rs", "app", "orders")).isTrue();
    assertThat(PsqlPattern.matchesRelation("\"a.b\".c", "a.b", "c")).isTrue();
    assertThat(tables("app.orders").selects(new TableRef("app", "orders"))).isTrue();
    assertThat(tables("app.orders").selects(new TableRef("app", "customers"))).isFalse();
    assertThatThrownBy(() -> PsqlPattern.check("a.b.c")).hasMessageContaining("more than one dot");
    assertThatThrownBy(() -> PsqlPattern.check("\"open")).hasMessageContaining("unclosed double quote");
  }

  @Test
  void aSequenceValueFindsItsSequenceWhateverSpacesTheNamesHold() {
    java.util.Map<Integer, ArchiveToc.Entry> m = new java.util.LinkedHashMap<>();
    m.put(1, new ArchiveToc.Entry(1, 51, "SEQUENCE", "my schema", "id seq", List.of(), "pre-data",
        "1; 1259 51 SEQUENCE my schema id seq the owner"));
    m.put(2, new ArchiveToc.Entry(2, 0, "SEQUENCE SET", "my", "schema id seq the", List.of(), "data",
        "2; 0 0 SEQUENCE SET my schema id seq the owner"));
    ArchiveToc.matchSequenceSets(m);
    assertThat(m.get(2).schema()).isEqualTo("my schema");
    assertThat(m.get(2).name()).isEqualTo("id seq");
  }
}
