package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * While the backup runs, a writer moves money between accounts, recording each transfer in a ledger, in many
 * transactions. The two tables are copied by different workers at different moments; restored, they must agree
 * exactly (every balance equals 1000 minus what the ledger says left plus what came in, and the total is intact),
 * which holds only if both were read at one instant: the run's snapshot.
 */
class ConsistentSnapshotIT {
  private static final TestPostgres PG = TestPostgres.get();
  @TempDir
  Path repo;

  @Test
  void concurrentTransfersRestoreToOneInstant() throws Exception {
    String source = PG.uniqueDbName("bank_src");
    String restored = PG.uniqueDbName("bank_dst");
    PG.createDatabase(source);
    try {
      PG.runSqlResource(source, "fixture/traps.sql");
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong commits = new AtomicLong();
      AtomicReference<Throwable> writerError = new AtomicReference<>();
      Thread writer = new Thread(() -> {
        try (Connection c = PG.connect(source)) {
          c.setAutoCommit(false);
          try (PreparedStatement debit = c.prepareStatement(
                   "UPDATE bank.accounts SET balance = balance - ? WHERE id = ?");
               PreparedStatement credit = c.prepareStatement(
                   "UPDATE bank.accounts SET balance = balance + ? WHERE id = ?");
               PreparedStatement record = c.prepareStatement(
                   "INSERT INTO bank.ledger(from_id, to_id, amount) VALUES (?, ?, ?)")) {
            long i = 0;
            while (!stop.get()) {
              int from = (int) (i * 7919 % 1000) + 1;
              int to = (int) (i * 104729 % 1000) + 1;
              long amount = i % 97 + 1;
              debit.setLong(1, amount);
              debit.setInt(2, from);
              debit.executeUpdate();
              credit.setLong(1, amount);
              credit.setInt(2, to);
              credit.executeUpdate();
              record.setInt(1, from);
              record.setInt(2, to);
              record.setLong(3, amount);
              record.executeUpdate();
              c.commit();
              commits.incrementAndGet();
              i++;
            }
          }
        } catch (Throwable t) {
          writerError.set(t);
        }
      }, "transfers");
      writer.start();
      while (commits.get() < 200) {
        Thread.sleep(10);
      }
      long before = commits.get();
      Cli.Result b = Cli.run("backup", PG.url(source), "--repo", repo.toString(), "--workers", "3",
          "--kafka", TestKafka.bootstrapServers());
      long during = commits.get() - before;
      stop.set(true);
      writer.join();
      assertThat(writerError.get()).isNull();
      assertThat(b.exitCode()).as(b.err()).isZero();
      assertThat(during).as("transfers committed while the backup ran").isGreaterThan(50);

      Cli.Result r = Cli.run("restore", "--repo", repo.toString(), "--backup", b.out().trim(),
          "--target", PG.url(restored));
      assertThat(r.exitCode()).as(r.err()).isZero();

      try (Connection c = PG.connect(restored); Statement st = c.createStatement()) {
        try (ResultSet rs = st.executeQuery("SELECT sum(balance), count(*) FROM bank.accounts")) {
          rs.next();
          assertThat(rs.getLong(1)).isEqualTo(1_000_000L);
          assertThat(rs.getInt(2)).isEqualTo(1000);
        }
        try (ResultSet rs = st.executeQuery("""
            SELECT count(*) FROM bank.accounts a
             WHERE a.balance <> 1000
                 - COALESCE((SELECT sum(amount) FROM bank.ledger l WHERE l.from_id = a.id), 0)
                 + COALESCE((SELECT sum(amount) FROM bank.ledger l WHERE l.to_id = a.id), 0)
            """)) {
          rs.next();
          assertThat(rs.getLong(1)).as("accounts disagreeing with the ledger").isZero();
        }
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM bank.ledger")) {
          rs.next();
          // The snapshot lies inside the writer's run: after the first 200 transfers, before the last.
          assertThat(rs.getLong(1)).isBetween(before, commits.get());
        }
      }
    } finally {
      PG.dropDatabase(source);
      PG.dropDatabase(restored);
    }
  }
}
