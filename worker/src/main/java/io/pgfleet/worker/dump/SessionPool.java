package io.pgfleet.worker.dump;

import io.pgfleet.common.pg.PgConnectionInfo;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Sessions already inside a run's snapshot, kept for a few seconds between the tasks of that run. A database of
 * many small tables is mostly per-task setup (connect, session settings, snapshot import: 5 to 20 ms each time
 * here), which a warm session skips. A session goes back only after a task succeeded on it, so it is never reused
 * in an aborted transaction. Idle sessions are closed after {@code keepMillis}: they hold the snapshot's xmin, and
 * a finished run's snapshot must not outlive it by more than that. Thread-safe.
 */
public final class SessionPool implements AutoCloseable {
  private record Key(String server, String snapshot) {}

  private record Idle(Connection connection, long since) {}

  private final Map<Key, Deque<Idle>> idle = new HashMap<>();
  private final long keepMillis;
  private final int maxIdle;
  private boolean closed;

  /**
   * @param keepMillis how long an idle session is kept
   * @param maxIdle how many idle sessions at most, over all runs (the worker's slots): many short runs in a row
   *     would otherwise leave a session each for the keep time, and a server's connection limit is shared
   */
  public SessionPool(long keepMillis, int maxIdle) {
    this.keepMillis = keepMillis;
    this.maxIdle = maxIdle;
  }

  private static Key key(PgConnectionInfo target, String snapshot) {
    return new Key(target.redacted(), snapshot);
  }

  /** A session inside {@code snapshot}: a warm one if there is one, else a new one. */
  public Connection borrow(PgConnectionInfo target, String snapshot) throws SQLException {
    Key k = key(target, snapshot);
    while (true) {
      Idle i;
      synchronized (this) {
        Deque<Idle> q = idle.get(k);
        i = q == null ? null : q.pollLast();
      }
      if (i == null) {
        return SnapshotSession.open(target, snapshot, "pgfleet-worker");
      }
      // isClosed() only knows what the client did; a session the server ended (restart, pg_terminate_backend)
      // would fail the task and use up an attempt. One round trip tells.
      if (i.connection().isValid(2)) {
        return i.connection();
      }
      end(i.connection());
    }
  }

  /** Takes back a session whose last task succeeded; it stays in its snapshot's transaction. */
  public void giveBack(PgConnectionInfo target, String snapshot, Connection c) {
    Connection evicted = null;
    synchronized (this) {
      if (!closed) {
        idle.computeIfAbsent(key(target, snapshot), x -> new ArrayDeque<>())
            .addLast(new Idle(c, System.currentTimeMillis()));
        if (idleCountLocked() > maxIdle) {
          evicted = pollOldest();
        }
        if (evicted == null) {
          return;
        }
      } else {
        evicted = c;
      }
    }
    end(evicted);
  }

  /** Removes and returns the session idle the longest, over all snapshots. */
  private Connection pollOldest() {
    Key oldest = null;
    long since = Long.MAX_VALUE;
    for (Map.Entry<Key, Deque<Idle>> e : idle.entrySet()) {
      Idle first = e.getValue().peekFirst();
      if (first != null && first.since() < since) {
        since = first.since();
        oldest = e.getKey();
      }
    }
    if (oldest == null) {
      return null;
    }
    Deque<Idle> q = idle.get(oldest);
    Connection c = q.pollFirst().connection();
    if (q.isEmpty()) {
      idle.remove(oldest);
    }
    return c;
  }

  private int idleCountLocked() {
    return idle.values().stream().mapToInt(Deque::size).sum();
  }

  /** Closes sessions idle longer than the keep time; call it every second or so, off the event loop. */
  public void evictIdle() {
    long now = System.currentTimeMillis();
    List<Connection> expired = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Deque<Idle>> it = idle.values().iterator(); it.hasNext(); ) {
        Deque<Idle> q = it.next();
        while (!q.isEmpty() && now - q.peekFirst().since() >= keepMillis) {
          expired.add(q.pollFirst().connection());
        }
        if (q.isEmpty()) {
          it.remove();
        }
      }
    }
    expired.forEach(SessionPool::end);
  }

  public synchronized int idleCount() {
    return idleCountLocked();
  }

  private static void end(Connection c) {
    SnapshotSession.end(c);
    try {
      c.close();
    } catch (SQLException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    List<Connection> all = new ArrayList<>();
    synchronized (this) {
      closed = true;
      idle.values().forEach(q -> q.forEach(i -> all.add(i.connection())));
      idle.clear();
    }
    all.forEach(SessionPool::end);
  }
}
