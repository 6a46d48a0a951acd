package io.pgfleet.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.worker.restore.GlobalsRestorer.Kind;
import io.pgfleet.worker.restore.GlobalsRestorer.ScriptStatement;
import java.util.List;
import org.junit.jupiter.api.Test;

class GlobalsRestorerTest {
  /** pg_dumpall 15.14+ output, with the shapes 16 and 17 add (INHERIT/SET options on memberships). */
  private static final String SCRIPT = """
      --
      -- PostgreSQL database cluster dump
      --

      \\restrict XQAL3h1bInlAePz4cA9JTspYeliyqLoh9RrHnjhpBMLFJO2MXEXU3vc6BQrd62P

      SET default_transaction_read_only = off;

      SET client_encoding = 'UTF8';
      SET standard_conforming_strings = on;

      --
      -- Roles
      --

      CREATE ROLE app_owner;
      ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOCREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5;
      CREATE ROLE "Mixed ""Case"" ;role";
      ALTER ROLE "Mixed ""Case"" ;role" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
      COMMENT ON ROLE app_owner IS 'owns; the app
      tables';
      CREATE ROLE postgres;
      ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;

      --
      -- User Configurations
      --

      ALTER ROLE app_owner SET search_path TO 'app', 'public';
      ALTER ROLE app_owner IN DATABASE shop SET work_mem TO '8MB';

      --
      -- Role memberships
      --

      GRANT "Mixed ""Case"" ;role" TO app_owner GRANTED BY postgres;
      GRANT pg_read_all_data TO app_owner WITH INHERIT TRUE GRANTED BY postgres;

      --
      -- Tablespaces
      --

      CREATE TABLESPACE fast OWNER app_owner LOCATION '/srv/fast';
      GRANT ALL ON TABLESPACE fast TO "Mixed ""Case"" ;role";
      COMMENT ON TABLESPACE fast IS 'ssd';
      GRANT SET ON PARAMETER work_mem TO app_owner;

      \\unrestrict XQAL3h1bInlAePz4cA9JTspYeliyqLoh9RrHnjhpBMLFJO2MXEXU3vc6BQrd62P

      --
      -- PostgreSQL database cluster dump complete
      --
      """;

  @Test
  void classifiesEveryStatementOfAGlobalsDump() {
    List<ScriptStatement> s = GlobalsRestorer.parse(SCRIPT);
    assertThat(s).extracting(ScriptStatement::kind).containsExactly(
        Kind.SESSION, Kind.SESSION, Kind.SESSION,
        Kind.CREATE_ROLE, Kind.ROLE, Kind.CREATE_ROLE, Kind.ROLE, Kind.ROLE, Kind.CREATE_ROLE, Kind.ROLE,
        Kind.ROLE, Kind.ROLE,
        Kind.MEMBERSHIP, Kind.MEMBERSHIP,
        Kind.TABLESPACE_CREATE, Kind.TABLESPACE, Kind.TABLESPACE, Kind.UNKNOWN);
    assertThat(s.get(3).object()).isEqualTo("app_owner");
    assertThat(s.get(5).object()).isEqualTo("Mixed \"Case\" ;role");
    assertThat(s.get(6).object()).isEqualTo("Mixed \"Case\" ;role");
    assertThat(s.get(7).sql()).isEqualTo("COMMENT ON ROLE app_owner IS 'owns; the app\ntables'");
    assertThat(s.get(11).object()).isEqualTo("app_owner");
    assertThat(s.get(12).object()).isEqualTo("Mixed \"Case\" ;role");
    assertThat(s.get(12).member()).isEqualTo("app_owner");
    assertThat(s.get(12).withoutGrantor().sql()).isEqualTo("GRANT \"Mixed \"\"Case\"\" ;role\" TO app_owner");
    assertThat(s.get(13).object()).isEqualTo("pg_read_all_data");
    assertThat(s.get(13).withoutGrantor().sql()).isEqualTo("GRANT pg_read_all_data TO app_owner WITH INHERIT TRUE");
    assertThat(s.get(14).object()).isEqualTo("fast");
    assertThat(s.get(15).object()).isEqualTo("fast");
    assertThat(s.get(16).object()).isEqualTo("fast");
  }

  @Test
  void metaCommandsAndCommentsAreNotStatements() {
    assertThat(GlobalsRestorer.split("\\restrict abc\n-- x; y\nCREATE ROLE a; -- trailing; comment\n\\unrestrict abc\n"))
        .containsExactly("CREATE ROLE a");
  }
}
