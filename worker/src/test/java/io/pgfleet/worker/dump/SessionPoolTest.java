package io.pgfleet.worker.dump;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.pg.PgConnectionInfo;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionPoolTest {
  private static final PgConnectionInfo SERVER = PgConnectionInfo.parse("postgresql://u@db1:5432/app");
  private final List<String> closed = new ArrayList<>();

  /** A connection that only records being closed (its COMMIT goes to a statement that does nothing). */
  private Connection session(String name) {
    Statement st = (Statement) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Statement.class},
        (p, m, a) -> m.getReturnType() == boolean.class ? false : null);
    return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
        (p, m, a) -> switch (m.getName()) {
          case "createStatement" -> st;
          case "close" -> {
            closed.add(name);
            yield null;
          }
          case "isValid" -> true;
          case "toString" -> name;
          default -> m.getReturnType() == boolean.class ? false : null;
        });
  }

  @Test
  void idleSessionsOfManyShortRunsAreBoundedByTheSlotsTheOldestClosedFirst() throws Exception {
    try (SessionPool pool = new SessionPool(60_000, 2)) {
      pool.giveBack(SERVER, "snap-a", session("a1"));
      Thread.sleep(2);
      pool.giveBack(SERVER, "snap-b", session("b1"));
      Thread.sleep(2);
      pool.giveBack(SERVER, "snap-c", session("c1"));
      assertThat(pool.idleCount()).isEqualTo(2);
      assertThat(closed).containsExactly("a1");
      // A warm session of a run still idle is reused, the closed one is not.
      assertThat(pool.borrow(SERVER, "snap-b").toString()).isEqualTo("b1");
      assertThat(pool.idleCount()).isEqualTo(1);
    }
    assertThat(closed).containsExactly("a1", "c1");
  }

  @Test
  void sessionsIdleLongerThanTheKeepTimeAreClosed() throws Exception {
    try (SessionPool pool = new SessionPool(1, 8)) {
      pool.giveBack(SERVER, "snap-a", session("a1"));
      pool.giveBack(SERVER, "snap-a", session("a2"));
      Thread.sleep(5);
      pool.evictIdle();
      assertThat(pool.idleCount()).isZero();
      assertThat(closed).containsExactly("a1", "a2");
    }
  }
}
