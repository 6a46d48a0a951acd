package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.cloud.storage.Blob;
import com.google.cloud.storage.Storage;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.LocalGcsService;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A gs:// repository end to end: backup of the traps fixture into GCS (google-cloud-nio's in-memory
 * LocalStorageHelper behind the real client library, through the CLI's test hook), then list, verify, show and
 * restore from it, and an independent comparison of the restored database with the source.
 */
class GcsRepositoryIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final String REPO = "gs://pgfleet-it/backups/prod";
  private static String source;
  private static String restored;

  @BeforeAll
  static void load() throws Exception {
    System.setProperty(LocalGcsService.PROPERTY, LocalGcsService.class.getName());
    source = PG.uniqueDbName("gcs_src");
    restored = PG.uniqueDbName("gcs_dst");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
  }

  @AfterAll
  static void drop() throws Exception {
    System.clearProperty(LocalGcsService.PROPERTY);
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
    List<String> names = new ArrayList<>();
    for (Blob blob : LocalGcsService.service().list("pgfleet-it", Storage.BlobListOption.prefix("")).iterateAll()) {
      names.add(blob.getName());
    }
    assertThat(names).isNotEmpty().allMatch(n -> n.startsWith("backups/prod/"));
    assertThat(names).anyMatch(n -> n.endsWith("/" + backupId + "/manifest.json"))
        .anyMatch(n -> n.endsWith("/" + backupId + "/RESTORE.md"))
        .anyMatch(n -> n.contains("/" + backupId + "/data/"))
        .noneMatch(n -> n.contains(".pgfleet-probe-"));

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
  }

  @Test
  void aMissingBackupInAnEmptyGcsPrefixFailsWithOneLine() {
    Cli.Result r = Cli.run("verify", "--repo", "gs://pgfleet-it/nothing/here", "--backup", "latest");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("gs://pgfleet-it/nothing/here");
  }
}
