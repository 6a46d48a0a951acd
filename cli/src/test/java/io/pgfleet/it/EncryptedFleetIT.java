package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.config.FleetConfigLoader;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.coordinator.api.FleetApi;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet whose repository is encrypted ({@code repository.encryptionKey}): the workers encrypt every artifact, the
 * coordinator seals the manifest's client-derived fields, and the fleet still reads its own backups with the key:
 * the API lists tables and rows, a new coordinator rebuilds its history from the sealed manifests, and a restore
 * through the API is exact. A coordinator without the key still lists the backup (times, sizes) with the sealed
 * figures left out; nothing in the repository holds a row, a table or a schema name.
 */
class EncryptedFleetIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final String MARKER = "confidential-row-marker";

  @TempDir
  Path dir;

  @Test
  void anEncryptedFleetBacksUpListsAndRestoresWithItsKeyAndLeavesNoPlaintext() throws Exception {
    String db = PG.uniqueDbName("encfleet");
    String restored = db + "_r";
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE SCHEMA hidden_payroll");
      st.execute("CREATE TABLE hidden_payroll.salaries (id int PRIMARY KEY, note text)");
      st.execute("INSERT INTO hidden_payroll.salaries SELECT g, '" + MARKER + "-' || g FROM generate_series(1, 5000) g");
      st.execute("CREATE TABLE public.plain (id int PRIMARY KEY)");
      st.execute("INSERT INTO public.plain SELECT generate_series(1, 300)");
    }
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    Path keyFile = dir.resolve("master.key");
    Files.writeString(keyFile, Base64.getEncoder().encodeToString(key) + "\n");
    Path repo = dir.resolve("repo");
    String settings = "coordinator: {http: {host: 127.0.0.1, port: 0}}\nworker: {slots: 2, metricsPort: -1}\n";
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      String plainYaml = OneDatabaseFleet.yaml(PG, dir, kafka.bootstrapServers(), repo, db, "",
          ", databases: {include: ['" + db + "', '" + restored + "']}", settings);
      // The cluster's database list names the restore target too (the API restores only into configured clusters).
      plainYaml = plainYaml.replace(", databases: {include: ['" + db + "']}", "");
      String encryptedYaml = plainYaml.replace("repository: {url: " + repo + "}",
          "repository: {url: " + repo + ", encryptionKey: {file: " + keyFile + "}}");
      assertThat(encryptedYaml).contains("encryptionKey");
      FleetConfig encrypted = FleetConfigLoader.parse(encryptedYaml, dir);
      String backupId;
      try (FleetProcess fleet = FleetProcess.start(encrypted, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(1, "enc-a"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        String runId = OneDatabaseFleet.backupNow(fleet, db);
        java.util.function.Predicate<io.pgfleet.common.event.CloudEvent> end = e -> runId.equals(e.runid())
            && (EventTypes.BACKUP_COMPLETED.equals(e.type()) || EventTypes.BACKUP_FAILED.equals(e.type()));
        events.await("the run's end", Duration.ofSeconds(120), evs -> evs.stream().anyMatch(end));
        io.pgfleet.common.event.CloudEvent e = events.all().stream().filter(end).findFirst().orElseThrow();
        assertThat(e.type()).as(e.data().toString()).isEqualTo(EventTypes.BACKUP_COMPLETED);
        backupId = e.data().get("backupId").asText();
        FleetApi.BackupView view = only(fleet, db);
        assertThat(view.backupId()).isEqualTo(backupId);
        assertThat(view.encrypted()).isTrue();
        assertThat(view.tables()).as("the leader holds the key: the sealed figures are read").isEqualTo(2L);
        assertThat(view.rows()).isEqualTo(5300L);
      }

      assertNoPlaintext(repo, MARKER, "hidden_payroll", "salaries");

      // A new coordinator (a take-over, a restart) rebuilds its view from the sealed manifests, with the key.
      try (FleetProcess fleet = FleetProcess.start(encrypted, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(1, "enc-b"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        FleetApi.BackupView view = only(fleet, db);
        assertThat(view.backupId()).isEqualTo(backupId);
        assertThat(view.tables()).isEqualTo(2L);
        assertThat(view.rows()).isEqualTo(5300L);

        PG.dropDatabase(restored);
        FleetApi.RestoreJobView job = fleet.coordinator().restore("main", db, backupId,
                new FleetApi.RestoreRequest("main", restored, List.of(), List.of(), List.of(), false, false, false,
                    2, false))
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        long deadline = System.currentTimeMillis() + 120_000;
        while (job.state().equals("RUNNING") && System.currentTimeMillis() < deadline) {
          Thread.sleep(250);
          job = fleet.coordinator().restoreJob(job.jobId()).toCompletionStage().toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
        }
        assertThat(job.state()).as(String.valueOf(job.error())).isEqualTo("COMPLETED");
        DatabaseComparison.compare(PG, db, restored).assertEqual();
      }

      // A coordinator without the key (a rotated-out key) still lists the backup, its sizes and times.
      FleetConfig keyless = FleetConfigLoader.parse(plainYaml, dir);
      try (FleetProcess fleet = FleetProcess.start(keyless, FileSystemStorage.open(repo),
          OneDatabaseFleet.options(0, "enc-c"))) {
        OneDatabaseFleet.awaitLeader(fleet);
        FleetApi.BackupView view = only(fleet, db);
        assertThat(view.backupId()).isEqualTo(backupId);
        assertThat(view.encrypted()).isTrue();
        assertThat(view.bytes()).isPositive();
        assertThat(view.tables()).isNull();
        assertThat(view.rows()).isNull();
      }

      Cli.Result noKey = Cli.run("restore", "--repo", repo.toString(), "--backup", backupId, "--target",
          PG.url(restored + "_x"));
      assertThat(noKey.exitCode()).isEqualTo(1);
      assertThat(noKey.errorLines()).as(noKey.err()).hasSize(1);
      assertThat(noKey.errorLines().get(0)).contains("encrypted").contains("--encryption-key-file");
      Cli.Result verify = Cli.run("verify", "--repo", repo.toString(), "--backup", backupId,
          "--encryption-key-file", keyFile.toString());
      assertThat(verify.exitCode()).as(verify.err()).isZero();
    } finally {
      PG.dropDatabase(restored);
      PG.dropDatabase(restored + "_x");
      PG.dropDatabase(db);
    }
  }

  private static FleetApi.BackupView only(FleetProcess fleet, String db) throws Exception {
    List<FleetApi.BackupView> backups = fleet.coordinator().backups("main", db).toCompletionStage()
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertThat(backups).hasSize(1);
    return backups.get(0);
  }

  /** No object of the repository holds any of the strings (raw bytes: artifacts are compressed, then encrypted). */
  private static void assertNoPlaintext(Path repo, String... secrets) throws Exception {
    List<Path> objects = new ArrayList<>();
    try (Stream<Path> s = Files.walk(repo)) {
      s.filter(Files::isRegularFile).forEach(objects::add);
    }
    assertThat(objects).hasSizeGreaterThan(3);
    for (Path p : objects) {
      String raw = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
      for (String secret : secrets) {
        assertThat(raw).as(repo.relativize(p) + " holds '" + secret + "'").doesNotContain(secret);
      }
    }
  }
}
