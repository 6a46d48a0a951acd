package io.pgfleet.worker.restore;

import io.pgfleet.common.pg.PsqlPattern;
import io.pgfleet.common.pg.TableRef;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a selective restore takes from a backup, as pg_restore's {@code -n}, {@code -t} and pg_dump's {@code -T}
 * would choose it, but complete: a selected table brings its indexes, constraints, triggers, rules, policies,
 * defaults, owned sequences (and their values), comments and grants, which {@code pg_restore -t} leaves behind.
 *
 * <p>Patterns follow psql ({@link PsqlPattern}): {@code name} or {@code schema.name}, {@code *} and {@code ?} as
 * wildcards, unquoted letters folded to lower case, double quotes keeping case, dots and wildcard characters
 * literally.
 *
 * @param schemas restore only these schemas (every object in them), or with {@code tables} only their tables
 * @param tables restore only these tables (also views, materialized views, sequences and foreign tables)
 * @param excludeTables leave these out, with everything that depends on them
 */
public record RestoreSelection(List<String> schemas, List<String> tables, List<String> excludeTables) {
  public static final RestoreSelection ALL = new RestoreSelection(List.of(), List.of(), List.of());

  private static final Set<String> RELATIONS = Set.of("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE",
      "SEQUENCE");
  /** Entry types that belong to the object they depend on and go wherever it goes. */
  private static final Set<String> DEPENDENTS = Set.of("INDEX", "CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT",
      "TRIGGER", "RULE", "POLICY", "ROW SECURITY", "DEFAULT", "COMMENT", "ACL", "SECURITY LABEL",
      "SEQUENCE OWNED BY", "INDEX ATTACH", "STATISTICS", "TABLE ATTACH", "MATERIALIZED VIEW DATA");
  /** Dependents that tie two relations together: taken only when every relation they name is taken. */
  private static final Set<String> LINKS = Set.of("FK CONSTRAINT", "INDEX ATTACH", "TABLE ATTACH");

  public RestoreSelection {
    schemas = List.copyOf(schemas);
    tables = List.copyOf(tables);
    excludeTables = List.copyOf(excludeTables);
  }

  public boolean isAll() {
    return schemas.isEmpty() && tables.isEmpty() && excludeTables.isEmpty();
  }

  /** Whether a table's data is restored under this selection (its definition follows the same rule). */
  public boolean selects(TableRef t) {
    return selectsRelation(t.schema(), t.name());
  }

  private boolean selectsRelation(String schema, String name) {
    if (excludeTables.stream().anyMatch(p -> PsqlPattern.matchesRelation(p, schema, name))) {
      return false;
    }
    if (!tables.isEmpty()) {
      return tables.stream().anyMatch(p -> PsqlPattern.matchesRelation(p, schema, name))
          && (schemas.isEmpty() || schemas.stream().anyMatch(p -> PsqlPattern.matchesName(p, schema)));
    }
    return schemas.isEmpty() || schemas.stream().anyMatch(p -> PsqlPattern.matchesName(p, schema));
  }

  /** The outcome for an archive: the entries to restore, in restore order, and what was left out and why. */
  public record Choice(List<ArchiveToc.Entry> entries, List<String> notes) {
    public Set<Integer> ids() {
      Set<Integer> ids = new HashSet<>();
      entries.forEach(e -> ids.add(e.dumpId()));
      return ids;
    }
  }

  public Choice choose(ArchiveToc toc) {
    return choose(toc, (schema, name) -> false);
  }

  /**
   * @param inTarget whether the target database already has a relation: a foreign key from a selected table to a
   *     table that is not selected is restored when that table is there (the usual single-table repair)
   */
  public Choice choose(ArchiveToc toc, java.util.function.BiPredicate<String, String> inTarget) {
    List<ArchiveToc.Entry> all = toc.entries();
    Set<String> notes = new LinkedHashSet<>();
    if (isAll()) {
      return new Choice(all, List.of());
    }
    Set<Integer> chosen = new LinkedHashSet<>();
    Set<Integer> excluded = new HashSet<>();
    for (ArchiveToc.Entry e : all) {
      if (RELATIONS.contains(e.type()) && e.schema() != null
          && excludeTables.stream().anyMatch(p -> PsqlPattern.matchesRelation(p, e.schema(), e.name()))) {
        excluded.add(e.dumpId());
        continue;
      }
      boolean seed;
      if (RELATIONS.contains(e.type())) {
        seed = e.schema() != null && selectsRelation(e.schema(), e.name());
      } else if (!tables.isEmpty()) {
        seed = false;
      } else if (!schemas.isEmpty()) {
        seed = "SCHEMA".equals(e.type()) ? schemas.stream().anyMatch(p -> PsqlPattern.matchesName(p, e.name()))
            : e.schema() != null && !DEPENDENTS.contains(e.type()) && !"data".equals(e.section())
                && schemas.stream().anyMatch(p -> PsqlPattern.matchesName(p, e.schema()));
      } else {
        // Only exclusions: everything else, dependents included, large objects too.
        seed = !DEPENDENTS.contains(e.type()) && !"SEQUENCE SET".equals(e.type());
      }
      if (seed) {
        chosen.add(e.dumpId());
      }
    }
    boolean grew = true;
    while (grew) {
      grew = false;
      for (ArchiveToc.Entry e : all) {
        if (excluded.contains(e.dumpId())) {
          continue;
        }
        if (e.deps().stream().anyMatch(excluded::contains)) {
          // What depends on a left-out object is left out too: a view on an excluded table, its owned sequence.
          chosen.remove(e.dumpId());
          grew |= excluded.add(e.dumpId());
          continue;
        }
        if (chosen.contains(e.dumpId())) {
          continue;
        }
        if ("SEQUENCE".equals(e.type()) && e.deps().stream().anyMatch(d -> chosen.contains(d)
            && toc.get(d) != null && "TABLE".equals(toc.get(d).type()))) {
          // A sequence depends on a table only when the table owns it (serial, identity): it comes with the table.
          grew |= chosen.add(e.dumpId());
          continue;
        }
        if ("SEQUENCE SET".equals(e.type())) {
          if (all.stream().anyMatch(s -> "SEQUENCE".equals(s.type()) && chosen.contains(s.dumpId())
              && s.name().equals(e.name()) && java.util.Objects.equals(s.schema(), e.schema()))) {
            grew |= chosen.add(e.dumpId());
          }
          continue;
        }
        if (!DEPENDENTS.contains(e.type()) || e.deps().stream().noneMatch(chosen::contains)) {
          continue;
        }
        if (!"SEQUENCE OWNED BY".equals(e.type())) {
          // Taken only if every relation it needs is taken or already in the target: a trigger that calls a
          // selected function still belongs to its own, unselected table.
          boolean link = LINKS.contains(e.type());
          List<Integer> missing = e.deps().stream().filter(d -> {
            ArchiveToc.Entry x = toc.get(d);
            return x != null && (RELATIONS.contains(x.type()) || link && "INDEX".equals(x.type()))
                && !chosen.contains(d)
                && !(RELATIONS.contains(x.type()) && x.schema() != null && inTarget.test(x.schema(), x.name()));
          }).toList();
          if (!missing.isEmpty()) {
            continue;
          }
        }
        if ("SEQUENCE OWNED BY".equals(e.type())) {
          // The sequence a selected table owns (serial, identity) comes with it.
          for (int d : e.deps()) {
            ArchiveToc.Entry x = toc.get(d);
            if (x != null && "SEQUENCE".equals(x.type())) {
              chosen.add(d);
            }
          }
        }
        grew |= chosen.add(e.dumpId());
      }
    }
    // What a chosen table loses, said once the choice is final: a foreign key or attachment to a relation that is
    // neither chosen nor in the target, a default that needs such a sequence.
    for (ArchiveToc.Entry e : all) {
      if (chosen.contains(e.dumpId()) || excluded.contains(e.dumpId())
          || !(LINKS.contains(e.type()) || "DEFAULT".equals(e.type()))
          || e.deps().stream().noneMatch(d -> chosen.contains(d) && toc.get(d) != null
              && "TABLE".equals(toc.get(d).type()))) {
        continue;
      }
      e.deps().stream().map(toc::get).filter(x -> x != null && RELATIONS.contains(x.type())
              && !chosen.contains(x.dumpId()) && !(x.schema() != null && inTarget.test(x.schema(), x.name())))
          .findFirst().ifPresent(other -> notes.add(e.type().toLowerCase(Locale.ROOT) + " " + e.name()
              + " not restored: it also needs " + other.type().toLowerCase(Locale.ROOT) + " " + other.schema() + "."
              + other.name() + ", which is neither selected nor in the target database"));
    }
    List<ArchiveToc.Entry> out = all.stream().filter(e -> chosen.contains(e.dumpId())).toList();
    return new Choice(out, List.copyOf(notes));
  }
}
