package io.pgfleet.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageContract;
import io.pgfleet.common.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The whole storage contract, every case included, against a real S3 server in its own process (Adobe's S3Mock,
 * {@link S3MockServer}) through the AWS SDK and the same client settings as an S3-compatible endpoint in production,
 * plus what only S3 has: multipart uploads completed on commit and aborted otherwise, and the conditional-write
 * probe. Parts are S3's minimum of 5 MiB here so that a few writes span several parts.
 */
class S3StorageS3MockTest extends StorageContract {
  private static final String BUCKET = "pgfleet-test";
  private static final int PART = 5 << 20;
  private static S3MockServer server;
  private static S3Connection connection;
  private static S3Client client;
  private final List<S3Storage> opened = new ArrayList<>();
  private String prefix;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3MockServer.start(BUCKET);
    // The SDK's default chain reads these first: the same path as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
    System.setProperty("aws.accessKeyId", S3MockServer.ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", S3MockServer.SECRET_KEY);
    connection = new S3Connection(Optional.of(server.endpoint()), true, Region.US_EAST_1);
    client = S3Storage.client(connection);
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected Storage createStorage() throws StorageException {
    prefix = "contract/" + UUID.randomUUID();
    return open(new S3Location(BUCKET, prefix));
  }

  private S3Storage open(S3Location location) throws StorageException {
    S3Storage s = S3Storage.open(location, connection,
        S3Storage.Options.defaults().withPartSize(PART).withListPageSize(50));
    opened.add(s);
    return s;
  }

  @Override
  protected Optional<String> cannotRun(Capability capability) {
    if (capability == Capability.ATOMIC_CONDITIONAL_CREATE) {
      return Optional.of("S3Mock checks If-None-Match and then writes without a lock (all 8 racing writers win"
          + " there); AWS S3 makes the check and the write one atomic step. Run S3StorageServerTest against MinIO or"
          + " a bucket for the race");
    }
    return Optional.empty();
  }

  @Override
  protected int pagingKeyCount() {
    return 120;
  }

  @Override
  protected List<String> configuredSecrets() {
    return List.of(S3MockServer.SECRET_KEY, S3MockServer.ACCESS_KEY);
  }

  @AfterEach
  void closeOpened() {
    opened.forEach(S3Storage::close);
  }

  private int uploadsInProgress() {
    return client.listMultipartUploads(r -> r.bucket(BUCKET).prefix(prefix + "/")).uploads().size();
  }

  @Test
  void aMultipartUploadBecomesTheObjectOnlyOnCommit() throws Exception {
    byte[] data = new byte[2 * PART + 12_345]; // three parts, the last one short
    new Random(5).nextBytes(data);
    try (ObjectWriter w = storage.create("big/artifact")) {
      w.write(data, 0, PART + 7);
      w.write(data, PART + 7, data.length - PART - 7);
      assertThat(uploadsInProgress()).isEqualTo(1);
      assertThat(storage.stat("big/artifact")).isEmpty();
      assertThat(storage.list("")).isEmpty();
      w.commit();
    }
    assertThat(uploadsInProgress()).isZero();
    assertThat(read("big/artifact")).isEqualTo(data);
    assertThat(read("big/artifact", PART + 1L)).hasSize(data.length - PART - 1);
    assertThat(storage.stat("big/artifact")).get().extracting(i -> i.size()).isEqualTo((long) data.length);
  }

  @Test
  void anUncommittedMultipartWriterAbortsItsUploadAndLeavesNothing() throws Exception {
    // No previous object at the key here: S3Mock (unlike S3) hides an object while a multipart upload to its key is
    // open, so "the previous object survives an aborted upload" is only provable on S3 itself. The contract's
    // uncommittedWriterKeepsThePreviousObject covers it for single-part objects.
    try (ObjectWriter w = storage.create("big/artifact")) {
      w.write(new byte[PART * 2 + 1]);
      assertThat(uploadsInProgress()).isEqualTo(1);
      assertThat(storage.stat("big/artifact")).isEmpty();
    }
    assertThat(uploadsInProgress()).isZero();
    assertThat(storage.stat("big/artifact")).isEmpty();
    assertThat(storage.list("")).isEmpty();
  }

  @Test
  void anObjectOfExactlyOnePartIsOnePutWithoutAnUpload() throws Exception {
    byte[] data = new byte[PART];
    new Random(6).nextBytes(data);
    try (ObjectWriter w = storage.create("one/part")) {
      w.write(data);
      assertThat(uploadsInProgress()).isZero();
      w.commit();
    }
    assertThat(read("one/part")).isEqualTo(data);
  }

  @Test
  void checkWritableProvesConditionalWritesAndLeavesNothingBehind() throws Exception {
    S3Storage s = (S3Storage) storage;
    s.checkWritable();
    assertThat(storage.list("")).isEmpty();
  }

  @Test
  void aMissingBucketFailsWithOneLineSayingWhatToDo() throws Exception {
    S3Storage s = open(new S3Location("pgfleet-no-such-bucket", "x"));
    assertThatThrownBy(s::checkReadable).isInstanceOf(StorageException.class)
        .hasMessageContaining("s3://pgfleet-no-such-bucket/x").hasMessageContaining("create the bucket")
        .hasMessageNotContaining("\n");
  }
}
