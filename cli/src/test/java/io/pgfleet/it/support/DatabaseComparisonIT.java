package io.pgfleet.it.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Checks the checker: two loads of the trap fixture are equal, and planted changes are named. */
class DatabaseComparisonIT {

    private static final String FIXTURE = "fixture/traps.sql";
    private static final String MIXED_TABLE = "\"Ops-Δ\".\"Mixed Case \"\"Quoted\"\" Ü✓\"";
    private static final String ODD_SEQUENCE = "\"Ops-Δ\".\"Odd Seq\"";
    private static final long TEXT_LARGE_OBJECT = 910003;

    private final TestPostgres pg = TestPostgres.get();
    private String original;
    private String copy;

    @BeforeEach
    void loadFixtureTwice() throws SQLException {
        original = pg.uniqueDbName("cmp_orig");
        copy = pg.uniqueDbName("cmp_copy");
        for (String db : new String[] {original, copy}) {
            pg.createDatabase(db);
            pg.runSqlResource(db, FIXTURE);
        }
    }

    @AfterEach
    void dropDatabases() throws SQLException {
        for (String db : new String[] {original, copy}) {
            if (db != null) {
                pg.dropDatabase(db);
            }
        }
    }

    @Test
    void twoLoadsOfTheFixtureAreEqual() throws SQLException {
        assertThat(queryLong(original, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata")).isEqualTo(3);
        assertThat(queryLong(original, "SELECT count(*) FROM ONLY app.measurements_default")).isPositive();
        assertThat(queryLong(original, "SELECT count(*) FROM \"Ops-Δ\".secrets WHERE secret")).isPositive();
        assertThat(queryLong(original, "SELECT count(*) FROM bank.accounts WHERE balance = 1000")).isEqualTo(1000);

        DatabaseComparison.Report report = DatabaseComparison.compare(pg, original, copy);

        assertThat(report.differences()).isEmpty();
        assertThat(report.isEqual()).isTrue();
        assertThatCode(report::assertEqual).doesNotThrowAnyException();
    }

    @Test
    void namesAChangedRowSequenceAndLargeObject() throws SQLException {
        try (Connection c = pg.connect(copy); Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE " + MIXED_TABLE + " SET \"First Name\" = 'changed' WHERE \"Id\" = 42");
            st.execute("SELECT pg_catalog.setval('" + ODD_SEQUENCE + "', -7)");
            st.execute("SELECT pg_catalog.lo_put(" + TEXT_LARGE_OBJECT + ", 0, decode('58', 'hex'))");
        }

        DatabaseComparison.Report report = DatabaseComparison.compare(pg, original, copy);

        assertThat(report.differences()).hasSize(3);
        assertThat(report.differences())
                .anySatisfy(d -> assertThat(d).contains(MIXED_TABLE).contains("content differs"))
                .anySatisfy(d -> assertThat(d).startsWith("sequence " + ODD_SEQUENCE + ":")
                        .contains("last_value=-424242, is_called=false in " + original)
                        .contains("last_value=-7, is_called=true in " + copy))
                .anySatisfy(d -> assertThat(d).startsWith("large object " + TEXT_LARGE_OBJECT + ":")
                        .contains("content differs"));
        assertThatThrownBy(report::assertEqual)
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining(MIXED_TABLE)
                .hasMessageContaining(ODD_SEQUENCE)
                .hasMessageContaining(Long.toString(TEXT_LARGE_OBJECT));
    }

    @Test
    void namesSchemaRowCountAndLargeObjectCommentDifferences() throws SQLException {
        try (Connection c = pg.connect(copy); Statement st = c.createStatement()) {
            st.execute("DROP INDEX app.orders_details_gin_idx");
            st.executeUpdate("DELETE FROM app.measurements_default WHERE taken < date '2022-01-11'");
            st.execute("COMMENT ON LARGE OBJECT " + TEXT_LARGE_OBJECT + " IS NULL");
        }

        DatabaseComparison.Report report = DatabaseComparison.compare(pg, original, copy);

        assertThat(report.differences()).hasSize(3);
        assertThat(report.differences())
                .anySatisfy(d -> assertThat(d).startsWith("schema (pg_dump --schema-only) differs")
                        .contains("orders_details_gin_idx"))
                .anySatisfy(d -> assertThat(d).startsWith("partition app.measurements_default:")
                        .contains("730 rows in " + original).contains("720 rows in " + copy))
                .anySatisfy(d -> assertThat(d).startsWith("large object " + TEXT_LARGE_OBJECT + ": comment"));
    }

    private long queryLong(String db, String sql) throws SQLException {
        try (Connection c = pg.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
