package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import io.pgfleet.storage.gcs.FakeGcsServer;
import io.pgfleet.storage.gcs.GcsStorage;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A gs:// repository end to end: backup of the traps fixture into GCS, then list, verify, show and restore from it,
 * and an independent comparison of the restored database with the source. "GCS" is {@link FakeGcsServer}, a GCS
 * JSON API server in this JVM: the CLI opens the repository exactly as with an emulator in production, through the
 * {@code pgfleet.gcs.emulator-host} property, which stands for {@code STORAGE_EMULATOR_HOST}, so the real client
 * library does resumable uploads, range reads, paging and the manifest's conditional commit over HTTP.
 */
class GcsRepositoryIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final String REPO = "gs://pgfleet-it/backups/prod";
  private static FakeGcsServer server;
  private static String source;
  private static String restored;

  @BeforeAll
  static void load() throws Exception {
    server = FakeGcsServer.start().createBucket("pgfleet-it");
    System.setProperty(GcsStorage.EMULATOR_HOST_PROPERTY, server.endpoint());
    source = PG.uniqueDbName("gcs_src");
    restored = PG.uniqueDbName("gcs_dst");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
  }

  @AfterAll
  static void drop() throws Exception {
    System.clearProperty(GcsStorage.EMULATOR_HOST_PROPERTY);
    if (server != null) {
      server.close();
    }
    PG.dropDatabase(source);
    PG.dropDatabase(restored);
  }

  @Test
  void backupVerifyAndRestoreThroughAGcsRepository() throws Exception {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", REPO, "--workers", "2",
        "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();
    assertThat(b.err()).contains("into " + REPO).contains("backup " + backupId + " complete");

    // The objects sit under the prefix with the same keys as in a directory repository, and nothing else.
    List<String> names = server.objectNames("pgfleet-it");
    assertThat(names).isNotEmpty().allMatch(n -> n.startsWith("backups/prod/"));
    assertThat(names).anyMatch(n -> n.endsWith("/" + backupId + "/manifest.json"))
        .anyMatch(n -> n.endsWith("/" + backupId + "/RESTORE.md"))
        .anyMatch(n -> n.contains("/" + backupId + "/data/"))
        .noneMatch(n -> n.contains(".pgfleet-probe-"));
    // The manifest (like every createIfAbsent: one multipart insert) was committed by GCS's own precondition,
    // ifGenerationMatch=0, not by a check-then-write.
    assertThat(server.requests()).filteredOn(req -> req.method().equals("POST")
            && "multipart".equals(req.query().get("uploadType")))
        .isNotEmpty().allMatch(req -> "0".equals(req.query().get("ifGenerationMatch")));

    Cli.Result list = Cli.run("list", "--repo", REPO);
    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(list.out()).contains(backupId);

    Cli.Result verify = Cli.run("verify", "--repo", REPO, "--backup", "latest");
    assertThat(verify.exitCode()).as(verify.err()).isZero();

    Cli.Result show = Cli.run("show", "--repo", REPO, "--backup", backupId);
    assertThat(show.exitCode()).as(show.err()).isZero();

    Cli.Result r = Cli.run("restore", "--repo", REPO, "--backup", backupId, "--target", PG.url(restored));
    assertThat(r.exitCode()).as(r.err()).isZero();
    DatabaseComparison.compare(PG, source, restored).assertEqual();
    assertThat(server.unhandled()).as("requests the fake GCS server does not implement").isEmpty();
  }

  @Test
  void aMissingBackupInAnEmptyGcsPrefixFailsWithOneLine() {
    Cli.Result r = Cli.run("verify", "--repo", "gs://pgfleet-it/nothing/here", "--backup", "latest");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("gs://pgfleet-it/nothing/here");
  }
}
