package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import io.pgfleet.storage.s3.S3Connection;
import io.pgfleet.storage.s3.S3MockServer;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * An s3:// repository end to end: backup of the traps fixture into a real S3 server in its own process (Adobe's
 * S3Mock, {@link S3MockServer}), then list, verify, show and restore from it, and an independent comparison of the
 * restored database with the source. The in-process CLI finds the server through the {@code pgfleet.s3.endpoint}
 * system property, which stands for {@code PGFLEET_S3_ENDPOINT}, and its credentials through the AWS default
 * chain's {@code aws.accessKeyId}/{@code aws.secretAccessKey} properties, which stand for
 * {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY}.
 */
class S3RepositoryIT {
  private static final TestPostgres PG = TestPostgres.get();
  private static final String BUCKET = "pgfleet-it";
  private static final String REPO = "s3://" + BUCKET + "/backups/prod";
  private static S3MockServer server;
  private static S3Client client;
  private static String source;
  private static String restored;

  @BeforeAll
  static void start() throws Exception {
    server = S3MockServer.start(BUCKET);
    System.setProperty(S3Connection.ENDPOINT_PROPERTY, server.endpoint().toString());
    System.setProperty("aws.accessKeyId", S3MockServer.ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", S3MockServer.SECRET_KEY);
    client = S3Client.builder().endpointOverride(server.endpoint()).forcePathStyle(true).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(S3MockServer.ACCESS_KEY, S3MockServer.SECRET_KEY)))
        .httpClient(UrlConnectionHttpClient.create()).build();
    source = PG.uniqueDbName("s3_src");
    restored = PG.uniqueDbName("s3_dst");
    PG.createDatabase(source);
    PG.runSqlResource(source, "fixture/traps.sql");
  }

  @AfterAll
  static void stop() throws Exception {
    System.clearProperty(S3Connection.ENDPOINT_PROPERTY);
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    PG.dropDatabase(source);
    PG.dropDatabase(restored);
  }

  @Test
  void backupVerifyAndRestoreThroughAnS3Repository() throws Exception {
    Cli.Result b = Cli.run("backup", PG.url(source), "--repo", REPO, "--workers", "2",
        "--kafka", TestKafka.bootstrapServers());
    assertThat(b.exitCode()).as(b.err()).isZero();
    String backupId = b.out().trim();
    assertThat(b.err()).contains("into " + REPO).contains("backup " + backupId + " complete");

    // The objects sit under the prefix with the same keys as in a directory repository, and nothing else: no
    // probe object, no multipart upload left open.
    List<String> names = client.listObjectsV2Paginator(r -> r.bucket(BUCKET)).contents().stream()
        .map(S3Object::key).toList();
    assertThat(names).isNotEmpty().allMatch(n -> n.startsWith("backups/prod/"));
    assertThat(names).anyMatch(n -> n.endsWith("/" + backupId + "/manifest.json"))
        .anyMatch(n -> n.endsWith("/" + backupId + "/RESTORE.md"))
        .anyMatch(n -> n.contains("/" + backupId + "/data/"))
        .noneMatch(n -> n.contains(".pgfleet-probe-"));
    assertThat(client.listMultipartUploads(r -> r.bucket(BUCKET)).uploads()).isEmpty();

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
  void aMissingBackupInAnEmptyS3PrefixFailsWithOneLine() {
    Cli.Result r = Cli.run("verify", "--repo", "s3://" + BUCKET + "/nothing/here", "--backup", "latest");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("s3://" + BUCKET + "/nothing/here");
  }

  @Test
  void aMissingBucketFailsWithOneLineSayingWhatToDo() {
    Cli.Result r = Cli.run("list", "--repo", "s3://pgfleet-no-such-bucket/x");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains("s3://pgfleet-no-such-bucket/x").contains("create the bucket");
  }

  @Test
  void credentialsInTheUrlAreRefusedAndNeverEchoed() {
    Cli.Result r = Cli.run("list", "--repo", "s3://AKIAEXAMPLE:wJalrSecret@" + BUCKET + "/x");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.errorLines()).hasSize(1);
    assertThat(r.out() + r.err()).doesNotContain("wJalrSecret").doesNotContain("AKIAEXAMPLE");
  }
}
