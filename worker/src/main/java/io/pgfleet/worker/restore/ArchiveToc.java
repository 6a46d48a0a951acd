package io.pgfleet.worker.restore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The table of contents of a pg_dump custom archive, with each entry's dependencies: what a selective restore
 * needs to know that an index, a trigger or a grant belongs to a table.
 *
 * <p>{@code pg_restore -l} gives the entries in restore order but neither their dependencies nor an unambiguous
 * name (names with spaces run into the next column). {@code pg_restore -v -f -} prints every pre-data and post-data
 * entry as SQL preceded by {@code -- TOC entry N (class C OID O)}, {@code -- Dependencies: ...} and
 * {@code -- Name: ...; Type: ...; Schema: ...; Owner: ...}: that is read here, no database needed. Data-section
 * entries (sequence values, large objects) are read from the list alone: printing them would print the large
 * objects' contents.
 */
public final class ArchiveToc {
  /**
   * @param section {@code pre-data}, {@code data} or {@code post-data}
   * @param listLine the entry's line in {@code pg_restore -l} output, as a {@code -L} list file takes it back
   */
  public record Entry(int dumpId, long oid, String type, String schema, String name, List<Integer> deps,
      String section, String listLine) {}

  private static final Pattern LIST_LINE = Pattern.compile("^(\\d+); (\\d+) (\\d+) (.*)$");
  private static final Pattern TOC_ENTRY = Pattern.compile("^-- TOC entry (\\d+) \\(class (\\d+) OID (\\d+)\\)$");
  private static final Pattern NAME_LINE =
      Pattern.compile("^-- Name: (.*); Type: (.*?); Schema: (.*?); Owner: (.*?)(; Tablespace: .*)?$");
  /** Types of the data section, longest first so "SEQUENCE SET" is not read as "SEQUENCE". */
  private static final List<String> DATA_TYPES = List.of("MATERIALIZED VIEW DATA", "SEQUENCE SET", "TABLE DATA",
      "LARGE OBJECT", "BLOBS", "BLOB", "BLOB METADATA");

  private final Map<Integer, Entry> entries;

  private ArchiveToc(Map<Integer, Entry> entries) {
    this.entries = entries;
  }

  /** A TOC from entries already read, in restore order (tests build selections on it). */
  static ArchiveToc of(List<Entry> entries) {
    Map<Integer, Entry> m = new LinkedHashMap<>();
    entries.forEach(e -> m.put(e.dumpId(), e));
    return new ArchiveToc(m);
  }

  /** All entries in restore order. */
  public List<Entry> entries() {
    return List.copyOf(entries.values());
  }

  public Entry get(int dumpId) {
    return entries.get(dumpId);
  }

  public static ArchiveToc read(Path pgRestore, Path archive) throws IOException {
    List<String> list = run(List.of(pgRestore.toString(), "--list", archive.toString()));
    Map<Integer, String[]> details = new LinkedHashMap<>();
    for (String section : List.of("pre-data", "post-data")) {
      List<String> sql = run(List.of(pgRestore.toString(), "--verbose", "--section=" + section, "--file=-",
          archive.toString()));
      parseVerbose(sql, section, details);
    }
    Map<Integer, Entry> entries = new LinkedHashMap<>();
    for (String line : list) {
      Matcher m = LIST_LINE.matcher(line);
      if (!m.matches()) {
        continue;
      }
      int id = Integer.parseInt(m.group(1));
      long oid = Long.parseLong(m.group(3));
      String[] d = details.get(id);
      if (d != null) {
        List<Integer> deps = d[4].isEmpty() ? List.of()
            : Arrays.stream(d[4].trim().split("\\s+")).map(Integer::valueOf).toList();
        entries.put(id, new Entry(id, oid, d[1], d[2], d[0], deps, d[3], line));
      } else {
        entries.put(id, dataEntry(id, oid, m.group(4), line));
      }
    }
    matchSequenceSets(entries);
    return new ArchiveToc(entries);
  }

  /**
   * A list line cannot say where a schema, name or owner with a space ends. A sequence value's line names a
   * sequence the verbose pass already read exactly: take that one (the longest that fits), so its value is
   * restored with its sequence whatever the names hold.
   */
  static void matchSequenceSets(Map<Integer, Entry> entries) {
    List<Entry> sequences = entries.values().stream().filter(e -> "SEQUENCE".equals(e.type())).toList();
    for (Map.Entry<Integer, Entry> me : entries.entrySet()) {
      Entry e = me.getValue();
      if (!"SEQUENCE SET".equals(e.type())) {
        continue;
      }
      Matcher m = LIST_LINE.matcher(e.listLine());
      if (!m.matches()) {
        continue;
      }
      String tail = m.group(4).substring("SEQUENCE SET ".length());
      sequences.stream()
          .filter(s -> tail.startsWith((s.schema() == null ? "-" : s.schema()) + " " + s.name() + " ")
              || tail.equals((s.schema() == null ? "-" : s.schema()) + " " + s.name()))
          .max(java.util.Comparator.comparingInt((Entry s) -> s.name().length() + String.valueOf(s.schema()).length()))
          .ifPresent(s -> me.setValue(new Entry(e.dumpId(), e.oid(), e.type(), s.schema(), s.name(), e.deps(),
              e.section(), e.listLine())));
    }
  }

  /** A data-section entry from its list line: "TYPE schema name owner", the schema one word or "-". */
  private static Entry dataEntry(int id, long oid, String rest, String line) {
    for (String type : DATA_TYPES) {
      if (rest.startsWith(type + " ")) {
        String tail = rest.substring(type.length() + 1);
        int sp = tail.indexOf(' ');
        String schema = sp < 0 ? tail : tail.substring(0, sp);
        String nameAndOwner = sp < 0 ? "" : tail.substring(sp + 1);
        int last = nameAndOwner.lastIndexOf(' ');
        String name = last < 0 ? nameAndOwner : nameAndOwner.substring(0, last);
        return new Entry(id, oid, type, "-".equals(schema) ? null : schema, name, List.of(), "data", line);
      }
    }
    return new Entry(id, oid, "UNKNOWN", null, rest, List.of(), "data", line);
  }

  static void parseVerbose(List<String> sql, String section, Map<Integer, String[]> into) {
    Integer current = null;
    String deps = "";
    for (String line : sql) {
      Matcher t = TOC_ENTRY.matcher(line);
      if (t.matches()) {
        current = Integer.valueOf(t.group(1));
        deps = "";
        continue;
      }
      if (current == null) {
        continue;
      }
      if (line.startsWith("-- Dependencies: ")) {
        deps = line.substring("-- Dependencies: ".length());
        continue;
      }
      Matcher n = NAME_LINE.matcher(line);
      if (n.matches()) {
        String schema = "-".equals(n.group(3)) ? null : n.group(3);
        into.put(current, new String[] {n.group(1), n.group(2), schema, section, deps});
        current = null;
      }
    }
  }

  private static List<String> run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).start();
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    });
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String l; (l = r.readLine()) != null; ) {
        if (l.startsWith("--") || l.isEmpty() || Character.isDigit(l.charAt(0)) || l.startsWith(";")) {
          lines.add(l);
        }
      }
    }
    try {
      int rc = p.waitFor();
      if (rc != 0) {
        throw new IOException(cmd.get(0) + " could not read the schema archive (exit " + rc + "): "
            + err.join().lines().filter(x -> !x.isBlank()).findFirst().orElse(""));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while reading the schema archive");
    }
    return lines;
  }
}
