package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup user that row-level security would filter must not produce a backup silently missing rows: the COPY
 * runs with row_security off, so the server refuses, the run fails naming the table, and nothing that looks like
 * a backup is left in the repository.
 */
class RowSecurityIT {
  private static final TestPostgres PG = TestPostgres.get();
  @TempDir
  Path repo;

  @Test
  void filteredTableFailsTheRunInsteadOfLosingRows() throws Exception {
    String db = PG.uniqueDbName("rls");
    String role = db + "_reader";
    PG.createDatabase(db);
    try {
      try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
        st.execute("DROP ROLE IF EXISTS " + role);
        st.execute("CREATE ROLE " + role + " LOGIN NOBYPASSRLS");
        st.execute("CREATE TABLE public.plain(id int primary key)");
        st.execute("INSERT INTO public.plain SELECT generate_series(1, 100)");
        st.execute("CREATE TABLE public.tenant_rows(id int primary key, tenant text not null)");
        st.execute("INSERT INTO public.tenant_rows SELECT g, 't' || (g % 3) FROM generate_series(1, 300) g");
        st.execute("ALTER TABLE public.tenant_rows ENABLE ROW LEVEL SECURITY");
        st.execute("CREATE POLICY only_t0 ON public.tenant_rows USING (tenant = 't0')");
        st.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
      }
      String url = PG.url(db).replaceFirst("://[^@/]*@", "://" + role + "@");
      Cli.Result r = Cli.run("backup", url, "--repo", repo.toString(), "--kafka", TestKafka.bootstrapServers());
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(r.errorLines()).hasSize(1);
      assertThat(r.errorLines().get(0)).contains("\"public\".\"tenant_rows\"").contains("row-level security")
          .contains("no backup was written");
      try (Stream<Path> s = Files.walk(repo)) {
        List<Path> left = s.filter(Files::isRegularFile).toList();
        assertThat(left).as("objects left by the failed run").isEmpty();
      }
    } finally {
      PG.dropDatabase(db);
      try (Connection c = PG.connect("postgres"); Statement st = c.createStatement()) {
        st.execute("DROP ROLE IF EXISTS " + role);
      }
    }
  }
}
