package io.pgfleet.it.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;

/**
 * The server processes of a test's tasks: find the one running a worker's COPY of a table, and freeze it (SIGSTOP)
 * and thaw it (SIGCONT), as a server stuck in I/O would be. Only for a server on this machine.
 */
public final class Backends {
  private Backends() {}

  /** Skips the calling test, saying why, unless the server runs on this machine (its processes can be signalled). */
  public static void assumeLocal(TestPostgres pg) {
    Assumptions.assumeTrue(pg.host().equals("127.0.0.1") || pg.host().equals("localhost"),
        "the server must run on this machine to freeze one of its processes; " + pg + " does not");
  }

  /** Waits for a worker's COPY of {@code table} in {@code db} to be running and returns its server process id. */
  public static int awaitCopy(Connection observer, String db, String table, Duration timeout) throws Exception {
    int pid = 0;
    long deadline = System.currentTimeMillis() + timeout.toMillis();
    while (pid == 0 && System.currentTimeMillis() < deadline) {
      try (Statement st = observer.createStatement();
           ResultSet rs = st.executeQuery("SELECT pid FROM pg_stat_activity WHERE datname = '" + db
               + "' AND application_name = 'pgfleet-worker' AND query ILIKE 'COPY%" + table + "%'"
               + " AND state = 'active'")) {
        pid = rs.next() ? rs.getInt(1) : 0;
      }
      Thread.sleep(pid == 0 ? 20 : 0);
    }
    assertThat(pid).as("the backend copying " + table).isPositive();
    return pid;
  }

  /** Sends the signal ({@code STOP}, {@code CONT}, {@code KILL}) to the process. */
  public static void signal(String sig, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("kill -" + sig + " " + pid + ": " + out).isZero();
  }
}
