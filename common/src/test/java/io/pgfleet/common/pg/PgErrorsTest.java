package io.pgfleet.common.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class PgErrorsTest {
  @Test
  void aServerOutOfConnectionsRestartingOrOutOfReachIsTransient() {
    assertThat(PgErrors.isTransient(new SQLException("sorry, too many clients already", "53300"))).isTrue();
    assertThat(PgErrors.isTransient(new SQLException("connection refused", "08001"))).isTrue();
    assertThat(PgErrors.isTransient(new SQLException("the database system is starting up", "57P03"))).isTrue();
    assertThat(PgErrors.isTransient(new IOException("wrapped",
        new SQLException("terminating connection due to administrator command", "57P01")))).isTrue();
  }

  @Test
  void whatTryingAgainCannotFixIsNot() {
    assertThat(PgErrors.isTransient(new SQLException("password authentication failed", "28P01"))).isFalse();
    assertThat(PgErrors.isTransient(new SQLException("database \"x\" does not exist", "3D000"))).isFalse();
    assertThat(PgErrors.isTransient(new SQLException("canceling statement due to user request", "57014")))
        .isFalse();
    assertThat(PgErrors.isTransient(new IllegalStateException("no SQL state"))).isFalse();
  }
}
