package io.pgfleet.common.task;

import io.pgfleet.common.pg.PgIdent;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One part of a table that was split across tasks: the rows whose {@code ctid} (or, on servers without TID range
 * scans, whose integer primary key) lies in {@code [from, to)}. A null bound is open: the first chunk has no lower
 * bound and the last no upper bound, so rows in pages added after planning, or keys beyond the planned range,
 * still belong to a chunk. The bounds come from Kafka and end up in SQL, so they are checked here, strictly.
 *
 * @param index 1-based position of this chunk in its table
 * @param count how many chunks the table was split into
 * @param method {@value #CTID} (bounds are {@code (block,0)} tuple ids) or {@value #KEY} (bounds are integers)
 * @param column the key column, for {@value #KEY}
 */
public record Chunk(int index, int count, String method, String column, String from, String to) {
  public static final String CTID = "ctid";
  public static final String KEY = "key";

  private static final Pattern TID = Pattern.compile("\\((0|[1-9][0-9]{0,9}),0\\)");
  private static final Pattern INTEGER = Pattern.compile("-?(0|[1-9][0-9]{0,18})");

  public Chunk {
    Objects.requireNonNull(method, "method");
    if (count < 2 || index < 1 || index > count) {
      throw new IllegalArgumentException("chunk " + index + "/" + count + " is out of range");
    }
    if ((index == 1) != (from == null) || (index == count) != (to == null)) {
      throw new IllegalArgumentException("chunk " + index + "/" + count
          + ": only the first chunk has no lower bound and only the last no upper bound");
    }
    switch (method) {
      case CTID -> {
        checkBound(TID, from);
        checkBound(TID, to);
        if (column != null) {
          throw new IllegalArgumentException("a ctid chunk names no column");
        }
      }
      case KEY -> {
        checkBound(INTEGER, from);
        checkBound(INTEGER, to);
        Objects.requireNonNull(column, "column");
        if (from != null) {
          Long.parseLong(from);
        }
        if (to != null) {
          Long.parseLong(to);
        }
      }
      default -> throw new IllegalArgumentException("unknown chunk method '" + method + "'");
    }
  }

  private static void checkBound(Pattern p, String bound) {
    if (bound != null && !p.matcher(bound).matches()) {
      throw new IllegalArgumentException("invalid chunk bound '" + bound + "'");
    }
  }

  public static Chunk ctid(int index, int count, Long fromBlock, Long toBlock) {
    return new Chunk(index, count, CTID, null, fromBlock == null ? null : "(" + fromBlock + ",0)",
        toBlock == null ? null : "(" + toBlock + ",0)");
  }

  public static Chunk key(int index, int count, String column, Long from, Long to) {
    return new Chunk(index, count, KEY, column, from == null ? null : from.toString(),
        to == null ? null : to.toString());
  }

  /** The WHERE condition selecting this chunk's rows (TID range scan on 14+, an index range scan for keys). */
  public String predicate() {
    String lhs = CTID.equals(method) ? "ctid" : PgIdent.quote(column);
    String cast = CTID.equals(method) ? "::tid" : "";
    StringBuilder sb = new StringBuilder();
    if (from != null) {
      sb.append(lhs).append(" >= '").append(from).append('\'').append(cast);
    }
    if (to != null) {
      if (!sb.isEmpty()) {
        sb.append(" AND ");
      }
      sb.append(lhs).append(" < '").append(to).append('\'').append(cast);
    }
    return sb.toString();
  }

  public String describe() {
    String lhs = CTID.equals(method) ? "ctid" : column;
    String range = from == null ? lhs + " < " + to : to == null ? lhs + " >= " + from : from + " <= " + lhs + " < " + to;
    return "chunk " + index + "/" + count + " (" + range + ")";
  }
}
