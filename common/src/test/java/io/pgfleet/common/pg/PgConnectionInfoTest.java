package io.pgfleet.common.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PgConnectionInfoTest {
  private static final String PW = "S3cr3t-pw!";

  private static void assertNoPassword(PgConnectionInfo info, String password) {
    assertThat(info.toString()).doesNotContain(password);
    assertThat(info.redacted()).doesNotContain(password);
    assertThat(info.endpoint()).doesNotContain(password);
    assertThat(info.jdbcUrl()).doesNotContain(password);
  }

  @Test
  void parsesUserPasswordHostPortDatabase() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@db.example.com:6543/sales");
    assertThat(info.user()).isEqualTo("alice");
    assertThat(info.host()).isEqualTo("db.example.com");
    assertThat(info.port()).isEqualTo(6543);
    assertThat(info.database()).isEqualTo("sales");
    assertThat(info.hasPassword()).isTrue();
    assertThat(info.jdbcProperties("pgfleet-test").getProperty("password")).isEqualTo(PW);
    assertThat(info.libpqEnvironment()).containsEntry("PGPASSWORD", PW);
    assertThat(info.redacted()).isEqualTo("alice@db.example.com:6543/sales");
    assertThat(info.toString()).isEqualTo(info.redacted());
    assertThat(info.endpoint()).isEqualTo("db.example.com:6543");
    assertThat(info.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:6543/sales");
    assertNoPassword(info, PW);
  }

  @Test
  void percentEncodedPasswordWithAtColonSlashIsDecoded() {
    String url = "postgresql://alice:S3cr3t%40pw%3A%2F!x@db.example.com:5433/sales";
    PgConnectionInfo info = PgConnectionInfo.parse(url);
    String expected = "S3cr3t@pw:/!x";
    assertThat(info.user()).isEqualTo("alice");
    assertThat(info.host()).isEqualTo("db.example.com");
    assertThat(info.port()).isEqualTo(5433);
    assertThat(info.database()).isEqualTo("sales");
    assertThat(info.jdbcProperties("x").getProperty("password")).isEqualTo(expected);
    assertThat(info.libpqEnvironment()).containsEntry("PGPASSWORD", expected);
    assertNoPassword(info, expected);
    assertNoPassword(info, "S3cr3t");
  }

  @Test
  void plusInPasswordIsALiteralPlusNotASpace() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://bob:a+b%20c@h/db");
    assertThat(info.jdbcProperties("x").getProperty("password")).isEqualTo("a+b c");
  }

  @Test
  void percentEncodedUserAndDatabaseAreDecoded() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://al%40ice:" + PW + "@h:5432/my%20db");
    assertThat(info.user()).isEqualTo("al@ice");
    assertThat(info.database()).isEqualTo("my db");
    assertThat(info.jdbcUrl()).isEqualTo("jdbc:postgresql://h:5432/my%20db");
  }

  @Test
  void ipv6HostInBrackets() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@[::1]:5433/sales");
    assertThat(info.host()).isEqualTo("::1");
    assertThat(info.port()).isEqualTo(5433);
    assertThat(info.database()).isEqualTo("sales");
    assertThat(info.endpoint()).isEqualTo("[::1]:5433");
    assertThat(info.jdbcUrl()).isEqualTo("jdbc:postgresql://[::1]:5433/sales");
    assertThat(info.redacted()).isEqualTo("alice@[::1]:5433/sales");
    assertThat(info.libpqEnvironment()).containsEntry("PGHOST", "::1").containsEntry("PGPORT", "5433");
    assertNoPassword(info, PW);
  }

  @Test
  void ipv6HostWithoutPortUsesDefault() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice@[2001:db8::5]/sales");
    assertThat(info.host()).isEqualTo("2001:db8::5");
    assertThat(info.port()).isEqualTo(5432);
  }

  @Test
  void defaultPortIs5432() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@db.example.com/sales");
    assertThat(info.port()).isEqualTo(5432);
    assertThat(info.host()).isEqualTo("db.example.com");
    assertThat(info.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:5432/sales");
    assertThat(info.libpqEnvironment()).containsEntry("PGPORT", "5432");
  }

  @Test
  void databaseDefaultsToUser() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@h:5432");
    assertThat(info.database()).isEqualTo("alice");
    PgConnectionInfo slash = PgConnectionInfo.parse("postgresql://alice:" + PW + "@h:5432/");
    assertThat(slash.database()).isEqualTo("alice");
  }

  @Test
  void postgresSchemeIsAccepted() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgres://alice:" + PW + "@h:5499/d");
    assertThat(info.user()).isEqualTo("alice");
    assertThat(info.host()).isEqualTo("h");
    assertThat(info.port()).isEqualTo(5499);
    assertThat(info.database()).isEqualTo("d");
  }

  @Test
  void sslmodePassesThroughToJdbcAndLibpq() {
    PgConnectionInfo info = PgConnectionInfo.parse(
        "postgresql://alice:" + PW + "@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=nightly");
    Properties p = info.jdbcProperties("pgfleet-worker");
    assertThat(p.getProperty("sslmode")).isEqualTo("verify-full");
    assertThat(p.getProperty("sslrootcert")).isEqualTo("/etc/ca.pem");
    assertThat(p.getProperty("ApplicationName")).isEqualTo("nightly");
    assertThat(p.getProperty("user")).isEqualTo("alice");
    Map<String, String> env = info.libpqEnvironment();
    assertThat(env).containsEntry("PGSSLMODE", "verify-full")
        .containsEntry("PGSSLROOTCERT", "/etc/ca.pem")
        .containsEntry("PGHOST", "h")
        .containsEntry("PGPORT", "5432")
        .containsEntry("PGUSER", "alice")
        .containsEntry("PGDATABASE", "d");
    assertNoPassword(info, PW);
  }

  @Test
  void withoutSslmodeJdbcPrefersSslAndLibpqIsLeftToItsDefault() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@h/d");
    assertThat(info.jdbcProperties("app").getProperty("sslmode")).isEqualTo("prefer");
    assertThat(info.jdbcProperties("app").getProperty("ApplicationName")).isEqualTo("app");
    assertThat(info.libpqEnvironment()).doesNotContainKey("PGSSLMODE");
  }

  @Test
  void queryParametersOverrideUserPasswordDatabaseAndPort() {
    PgConnectionInfo info = PgConnectionInfo.parse(
        "postgresql://h/ignored?user=carol&password=" + PW + "&dbname=inventory&port=7000");
    assertThat(info.user()).isEqualTo("carol");
    assertThat(info.database()).isEqualTo("inventory");
    assertThat(info.port()).isEqualTo(7000);
    assertThat(info.jdbcProperties("x").getProperty("password")).isEqualTo(PW);
    assertNoPassword(info, PW);
  }

  @Test
  void unknownParameterIsRejectedNamingIt() {
    assertThatThrownBy(() -> PgConnectionInfo.parse("postgresql://alice:" + PW + "@h/d?sslmode=require&target_session_attrs=any"))
        .isInstanceOf(InvalidPgUrlException.class)
        .hasMessageContaining("target_session_attrs")
        .hasMessageNotContaining(PW);
  }

  @Test
  void mysqlSchemeIsRejected() {
    assertThatThrownBy(() -> PgConnectionInfo.parse("mysql://alice:" + PW + "@h:3306/d"))
        .isInstanceOf(InvalidPgUrlException.class)
        .hasMessageContaining("postgresql://")
        .hasMessageNotContaining(PW);
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "0", "65536", "-1", "99999999999", ""})
  void badPortIsRejected(String port) {
    String url = "postgresql://alice:" + PW + "@h:" + port + "/d";
    Throwable t = catchThrowable(() -> PgConnectionInfo.parse(url));
    assertThat(t).isInstanceOf(InvalidPgUrlException.class).hasMessageContaining("port")
        .hasMessageNotContaining(PW);
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1,h2/d", "h1,h2:5433/d", "h1:5432,h2:5433/d", "h1:5432,h2/d"})
  void multipleHostsAreRejected(String hosts) {
    assertThatThrownBy(() -> PgConnectionInfo.parse("postgresql://alice:" + PW + "@" + hosts))
        .isInstanceOf(InvalidPgUrlException.class)
        .hasMessageNotContaining(PW);
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1,h2/d", "h1,h2:5433/d", "h1:5432,h2:5433/d"})
  void multipleHostsMessageSaysSo(String hosts) {
    assertThatThrownBy(() -> PgConnectionInfo.parse("postgresql://alice:" + PW + "@" + hosts))
        .isInstanceOf(InvalidPgUrlException.class)
        .hasMessageContaining("several hosts");
  }

  @Test
  void multipleHostsWithPortOnFirstOnlySaysSeveralHosts() {
    assertThatThrownBy(() -> PgConnectionInfo.parse("postgresql://alice@h1:5432,h2/d"))
        .isInstanceOf(InvalidPgUrlException.class)
        .hasMessageContaining("several hosts");
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "mysql://alice:S3cr3t-pw!@h/d",
    "postgresql://alice:S3cr3t-pw!@h:port/d",
    "postgresql://alice:S3cr3t-pw!@h:0/d",
    "postgresql://alice:S3cr3t-pw!@h1,h2/d",
    "postgresql://alice:S3cr3t-pw!@/d",
    "postgresql://alice:S3cr3t-pw!@[::1/d",
    "postgresql://alice:S3cr3t-pw!@h/d?bogus=1",
    "postgresql://alice:S3cr3t-pw!%zz@h/d",
    "postgresql://alice:S3cr3t-pw!@h/d%zz",
    "postgresql://alice@h/d?password=S3cr3t-pw!&bogus=1",
    "postgresql://alice@h/d?password=S3cr3t-pw!&port=x",
    "postgresql://alice@h/d?sslmode=require&password=S3cr3t-pw!&port=70000",
    "postgresql://alice:S3cr3t-pw!@h:5432/d?port=bad",
    "postgresql://alice:S3cr3t-pw!@h/d?user=bob&bogus",
    "postgres://alice:S3cr3t-pw!@h:x/d",
    "POSTGRESQL://alice:S3cr3t-pw!@h/d",
    "jdbc:postgresql://alice:S3cr3t-pw!@h/d",
  })
  void exceptionMessagesNeverContainThePassword(String url) {
    Throwable t = catchThrowable(() -> PgConnectionInfo.parse(url));
    assertThat(t).as(url).isInstanceOf(InvalidPgUrlException.class);
    assertThat(t.getMessage()).doesNotContain(PW).doesNotContain("S3cr3t");
    assertThat(t.getMessage()).as("the message still shows the (redacted) URL").contains("***");
  }

  @Test
  void emptyOrNullUrlIsRejected() {
    assertThatThrownBy(() -> PgConnectionInfo.parse(null)).isInstanceOf(InvalidPgUrlException.class);
    assertThatThrownBy(() -> PgConnectionInfo.parse("  ")).isInstanceOf(InvalidPgUrlException.class)
        .hasMessageContaining("postgresql://");
  }

  @Test
  void redactUrlMasksUserinfoPassword() {
    String r = PgConnectionInfo.redactUrl("postgresql://alice:" + PW + "@db.example.com:5432/sales");
    assertThat(r).isEqualTo("postgresql://alice:***@db.example.com:5432/sales");
  }

  @Test
  void redactUrlMasksPercentEncodedUserinfoPassword() {
    String r = PgConnectionInfo.redactUrl("postgresql://alice:S3cr3t%40pw%3A%2F@h/d");
    assertThat(r).isEqualTo("postgresql://alice:***@h/d");
  }

  @Test
  void redactUrlMasksQueryPassword() {
    String r = PgConnectionInfo.redactUrl("postgresql://alice@h/d?sslmode=require&password=" + PW + "&port=5432");
    assertThat(r).isEqualTo("postgresql://alice@h/d?sslmode=require&password=***&port=5432");
    String first = PgConnectionInfo.redactUrl("postgresql://h/d?password=" + PW);
    assertThat(first).isEqualTo("postgresql://h/d?password=***");
  }

  @Test
  void redactUrlMasksBothForms() {
    String r = PgConnectionInfo.redactUrl("postgresql://alice:" + PW + "@h/d?password=" + PW + "2");
    assertThat(r).doesNotContain("S3cr3t").contains("alice:***@h/d").endsWith("password=***");
  }

  @Test
  void redactUrlLeavesUrlsWithoutPasswordAlone() {
    assertThat(PgConnectionInfo.redactUrl("postgresql://alice@h:5432/d?sslmode=require"))
        .isEqualTo("postgresql://alice@h:5432/d?sslmode=require");
    assertThat(PgConnectionInfo.redactUrl("postgresql://[::1]:5433/d")).isEqualTo("postgresql://[::1]:5433/d");
    assertThat(PgConnectionInfo.redactUrl(null)).isEmpty();
  }

  @Test
  void jdbcUrlNeverContainsPasswordOrUser() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@h:5432/d?password=" + PW);
    assertThat(info.jdbcUrl()).doesNotContain(PW).doesNotContain("alice").doesNotContain("password");
  }

  @Test
  void unixSocketHostIsRejectedForJdbc() {
    PgConnectionInfo info = new PgConnectionInfo("/var/run/postgresql", 5432, "u", PW, "d", Map.of());
    assertThatThrownBy(info::jdbcUrl).isInstanceOf(InvalidPgUrlException.class)
        .hasMessageContaining("/var/run/postgresql")
        .hasMessageNotContaining(PW);
  }

  @Test
  void withDatabaseKeepsEverythingElse() {
    PgConnectionInfo info = PgConnectionInfo.parse("postgresql://alice:" + PW + "@h:5444/a?sslmode=require");
    PgConnectionInfo other = info.withDatabase("b");
    assertThat(other.database()).isEqualTo("b");
    assertThat(other.host()).isEqualTo("h");
    assertThat(other.port()).isEqualTo(5444);
    assertThat(other.user()).isEqualTo("alice");
    assertThat(other.jdbcProperties("x").getProperty("password")).isEqualTo(PW);
    assertThat(other.libpqEnvironment()).containsEntry("PGSSLMODE", "require").containsEntry("PGDATABASE", "b");
    assertThat(info.database()).isEqualTo("a");
  }

  /**
   * Users often forget to percent-encode a password. The parser accepts a raw '@' in the password (it splits at
   * the last '@'), and a raw '/' or '?' makes the parse fail; either way the error must not echo the password.
   */
  @ParameterizedTest
  @ValueSource(strings = {"S3cr3t@pw!", "S3cr3t/pw!", "S3cr3t?pw!"})
  void unencodedSpecialCharactersInPasswordAreNeverEchoed(String password) {
    String url = "postgresql://alice:" + password + "@h:notaport/d";
    Throwable t = catchThrowable(() -> PgConnectionInfo.parse(url));
    assertThat(t).isInstanceOf(InvalidPgUrlException.class);
    assertThat(t.getMessage()).doesNotContain("S3cr3t").doesNotContain("pw!");
  }
}
