package io.pgfleet.storage.s3;

import io.pgfleet.common.storage.MappedInputStream;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A repository in an S3 bucket, {@code s3://bucket/prefix}, on AWS S3 or an S3-compatible server
 * ({@link S3Connection}): each repository key is the object {@code prefix/key}, so the layout is the same as in a
 * directory.
 *
 * <ul>
 *   <li>Writes stream through a multipart upload, holding one part ({@link Options#partSize()}, 8 MiB) in memory.
 *       The object appears only when the upload is completed, which happens on {@link ObjectWriter#commit()} and
 *       nowhere else: a writer closed without commit aborts its upload, so no object is left and a previous object
 *       at the key stays as it was. An object smaller than one part is one PutObject on commit. (An abort that
 *       itself fails leaves invisible parts, billed until removed: a bucket lifecycle rule
 *       AbortIncompleteMultipartUpload cleans them up.)
 *   <li>{@link #createIfAbsent} is one PutObject with {@code If-None-Match: *}: of two writers, the server lets
 *       exactly one create the object, the other gets 412 and returns false. A server that ignores the header would
 *       let both win, so {@link #checkWritable()} proves it is honoured before a backup starts.
 *   <li>Reads stream one GetObject; a range read asks for {@code Range: bytes=offset-}.
 *   <li>Listing is ListObjectsV2 by prefix and walks every page.
 *   <li>Every call is retried on transient failures by {@link S3Retry}, the only retry layer (the SDK's is off).
 *   <li>Credentials come only from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
 *       AWS_PROFILE and ~/.aws, web identity, container or instance roles), never from the URL.
 * </ul>
 */
public final class S3Storage implements Storage {
  private static final Logger log = LoggerFactory.getLogger(S3Storage.class);
  private static final int MIN_PART_SIZE = 5 << 20; // S3's minimum for every part but the last
  private static final int MAX_PARTS = 10_000;

  /** Tuning. */
  public record Options(int partSize, int listPageSize, S3Retry.Settings retry) {
    /**
     * Production settings. An 8 MiB part keeps a worker's memory per open artifact small while keeping the number
     * of requests low; with S3's 10,000 parts an artifact may reach 78 GiB, far beyond one table chunk.
     */
    public static Options defaults() {
      return new Options(8 << 20, 1000, S3Retry.Settings.DEFAULT);
    }

    public Options {
      if (partSize < MIN_PART_SIZE) {
        throw new IllegalArgumentException("part size " + partSize + " is below S3's minimum of 5 MiB");
      }
      if (listPageSize < 1 || listPageSize > 1000) {
        throw new IllegalArgumentException("list page size " + listPageSize + " is not within 1..1000");
      }
    }

    public Options withPartSize(int size) {
      return new Options(size, listPageSize, retry);
    }

    public Options withListPageSize(int size) {
      return new Options(partSize, size, retry);
    }

    public Options withRetry(int maxAttempts, Duration first, Duration max) {
      return new Options(partSize, listPageSize, new S3Retry.Settings(maxAttempts, first, max));
    }
  }

  private final S3Client s3;
  private final S3Location location;
  private final Options options;
  private final S3Retry retry;

  private S3Storage(S3Client s3, S3Location location, Options options) {
    this.s3 = s3;
    this.location = location;
    this.options = options;
    this.retry = new S3Retry(location.toString(), options.retry());
  }

  /** A repository through the given connection; close() closes the client it builds. */
  public static S3Storage open(S3Location location, S3Connection connection, Options options)
      throws StorageException {
    return new S3Storage(client(connection), location, options);
  }

  /** A repository on the S3 service the environment names ({@link S3Connection#fromEnvironment()}). */
  public static S3Storage open(S3Location location) throws StorageException {
    return open(location, S3Connection.fromEnvironment(), Options.defaults());
  }

  static S3Client client(S3Connection connection) throws StorageException {
    try {
      S3ClientBuilder b = S3Client.builder()
          .httpClientBuilder(UrlConnectionHttpClient.builder()
              .connectionTimeout(Duration.ofSeconds(10))
              .socketTimeout(Duration.ofMinutes(2)))
          .credentialsProvider(DefaultCredentialsProvider.builder().build())
          // S3Retry is the one retry layer: see there.
          .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
          .region(connection.region())
          .forcePathStyle(connection.pathStyle());
      if (connection.endpoint().isPresent()) {
        // Checksums only where the API requires them: several S3-compatible servers reject the SDK's default
        // aws-chunked CRC trailers (SDK 2.30 on). Content integrity is pgfleet's own (the manifest's digests).
        b.endpointOverride(connection.endpoint().get())
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
      } else {
        b.crossRegionAccessEnabled(true);
      }
      return b.build();
    } catch (RuntimeException e) {
      throw new StorageException("S3 client for " + connection.describe() + " could not start: "
          + S3Retry.describe(e) + "; check " + S3Connection.ENDPOINT_ENV + " and AWS_REGION", e);
    }
  }

  public S3Location location() {
    return location;
  }

  /** Transient failures retried so far by this storage. */
  public long retryCount() {
    return retry.retryCount();
  }

  /** Proves the bucket reachable and listable before any database work (read-only commands). */
  public void checkReadable() throws StorageException {
    try {
      retry.call(() -> s3.listObjectsV2(r -> r.bucket(location.bucket()).prefix(location.keyPrefix()).maxKeys(1)));
    } catch (IOException | RuntimeException e) {
      throw failure("cannot list", e);
    }
  }

  /**
   * Writes and removes a probe object, and proves that the server honours {@code If-None-Match: *} (the manifest
   * commit depends on it): an unwritable bucket, or a server that would let two writers commit one backup, fails
   * before any database work starts.
   */
  public void checkWritable() throws StorageException {
    checkReadable();
    String probe = ".pgfleet-probe-" + UUID.randomUUID();
    try {
      try {
        try (ObjectWriter w = create(probe)) {
          w.write(1);
          w.commit();
        }
        if (createIfAbsent(probe, new byte[] {2})) {
          throw new StorageException("repository " + location + ": the S3 server ignores 'If-None-Match: *' on"
              + " PutObject, so two writers could both commit one backup; use a server that supports conditional"
              + " writes (AWS S3, or a recent MinIO, Ceph RGW or Cloudflare R2 release)");
        }
      } finally {
        delete(probe);
      }
    } catch (IOException | RuntimeException e) {
      throw failure("cannot write", e);
    }
  }

  /** One line for a person: what failed where, the server's own first line, and what to do. */
  private StorageException failure(String what, Throwable e) {
    if (e instanceof StorageException s && !(s.getCause() instanceof SdkException)) {
      return s;
    }
    Throwable cause = e instanceof StorageException && e.getCause() != null ? e.getCause() : e;
    int code = cause instanceof AwsServiceException a ? a.statusCode() : 0;
    String message = String.valueOf(cause.getMessage());
    String hint;
    if (code == 401 || code == 403 || message.contains("Unable to load credentials")) {
      hint = "give credentials with access to the bucket through the AWS default chain (AWS_ACCESS_KEY_ID and"
          + " AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance or pod role) allowing s3:ListBucket, s3:GetObject,"
          + " s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload";
    } else if (code == 404) {
      hint = "check the bucket name in --repo, or create the bucket first";
    } else if (code == 301 || code == 400 && message.contains("region")) {
      hint = "set AWS_REGION to the bucket's region";
    } else {
      hint = "check the network, " + S3Connection.ENDPOINT_ENV + ", the bucket name and the credentials, then retry";
    }
    return new StorageException("repository " + location + ": " + what + " (" + S3Retry.describe(cause) + "); "
        + hint, e);
  }

  private String objectKey(String key) throws StorageException {
    if (key == null || key.isEmpty() || key.startsWith("/") || key.contains("\\") || key.contains("\0")) {
      throw new StorageException("invalid object key '" + key + "'");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new StorageException("invalid object key '" + key + "': empty, '.' or '..' path segment");
      }
    }
    return location.objectKey(key);
  }

  private IOException mapped(String what, String key, Exception e) {
    if (e instanceof StorageException s) {
      return s;
    }
    return new StorageException(what + " " + key + " in repository " + location + " failed: "
        + S3Retry.describe(e), e);
  }

  private static boolean isStatus(Throwable e, int status) {
    return e instanceof AwsServiceException a && a.statusCode() == status;
  }

  @Override
  public ObjectWriter create(String key) throws IOException {
    return new MultipartWriter(key, objectKey(key));
  }

  /** One object being written: at most one part in memory, the multipart upload started only when a part is full. */
  private final class MultipartWriter extends ObjectWriter {
    private final String key;
    private final String objectKey;
    private byte[] buffer;
    private int buffered;
    private String uploadId;
    private final List<CompletedPart> parts = new ArrayList<>();
    private boolean committed;
    private boolean failed;

    MultipartWriter(String key, String objectKey) {
      this.key = key;
      this.objectKey = objectKey;
      this.buffer = new byte[options.partSize()];
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (committed || buffer == null) {
        throw new IOException("object " + key + " was already " + (committed ? "committed" : "closed"));
      }
      if (failed) {
        throw new StorageException("object " + key + " cannot be written: an earlier write failed");
      }
      java.util.Objects.checkFromIndexSize(off, len, b.length);
      while (len > 0) {
        // A full part is sent only when more bytes come, so an object of exactly one part is one PutObject and
        // the last part of a multipart upload is never empty.
        if (buffered == buffer.length) {
          uploadPart();
        }
        int n = Math.min(len, buffer.length - buffered);
        System.arraycopy(b, off, buffer, buffered, n);
        buffered += n;
        off += n;
        len -= n;
      }
    }

    private RequestBody body() {
      byte[] bytes = buffer;
      int length = buffered;
      // Re-readable for retries and signing, without copying the part.
      return RequestBody.fromContentProvider(() -> new ByteArrayInputStream(bytes, 0, length), length,
          "application/octet-stream");
    }

    private void uploadPart() throws IOException {
      try {
        if (uploadId == null) {
          uploadId = retry.call(() -> s3.createMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey)
              .contentType("application/octet-stream")).uploadId());
        }
        int partNumber = parts.size() + 1;
        if (partNumber > MAX_PARTS) {
          throw new StorageException("object " + key + " exceeds S3's " + MAX_PARTS + " parts of "
              + (options.partSize() >> 20) + " MiB");
        }
        String etag = retry.call(() -> s3.uploadPart(r -> r.bucket(location.bucket()).key(objectKey)
            .uploadId(uploadId).partNumber(partNumber), body()).eTag());
        parts.add(CompletedPart.builder().partNumber(partNumber).eTag(etag).build());
        buffered = 0;
      } catch (IOException | RuntimeException e) {
        failed = true;
        throw mapped("writing", key, e);
      }
    }

    @Override
    public void commit() throws IOException {
      if (committed) {
        return;
      }
      if (failed || buffer == null) {
        throw new StorageException("object " + key + " cannot be committed: "
            + (failed ? "an earlier write failed" : "its writer was closed"));
      }
      if (uploadId == null) {
        try {
          retry.call(() -> s3.putObject(r -> r.bucket(location.bucket()).key(objectKey)
              .contentType("application/octet-stream"), body()));
        } catch (IOException | RuntimeException e) {
          failed = true;
          throw mapped("committing", key, e);
        }
      } else {
        uploadPart();
        try {
          retry.call(() -> s3.completeMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey)
              .uploadId(uploadId).multipartUpload(u -> u.parts(parts))));
        } catch (IOException | RuntimeException e) {
          failed = true;
          throw mapped("committing", key, e);
        }
      }
      committed = true; // the object is there now, whole
      buffer = null;
    }

    @Override
    public void close() {
      buffer = null;
      if (committed || uploadId == null) {
        return;
      }
      // Not committed: the upload is aborted, never completed, so nothing appears at the key.
      String id = uploadId;
      uploadId = null;
      try {
        retry.call(() -> s3.abortMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey).uploadId(id)));
      } catch (IOException | RuntimeException e) {
        // Nothing is visible either way; the parts stay billed until a lifecycle rule removes them.
        log.warn("repository {}: aborting the upload of {} failed ({}); its parts stay invisible until the"
            + " bucket's AbortIncompleteMultipartUpload lifecycle rule removes them", location, key,
            S3Retry.describe(e));
      }
    }
  }

  @Override
  public InputStream open(String key) throws IOException {
    return open(key, 0);
  }

  @Override
  public InputStream open(String key, long offset) throws IOException {
    if (offset < 0) {
      throw new IllegalArgumentException("negative offset " + offset + " reading object " + key);
    }
    String objectKey = objectKey(key);
    InputStream in;
    try {
      in = retry.call(() -> s3.getObject(r -> {
        r.bucket(location.bucket()).key(objectKey);
        if (offset > 0) {
          r.range("bytes=" + offset + "-");
        }
      }));
    } catch (NoSuchKeyException e) {
      throw new StorageException("object " + key + " is missing from repository " + location, e);
    } catch (AwsServiceException e) {
      if (e.statusCode() == 416) {
        return InputStream.nullInputStream(); // a range at or past the end
      }
      if (e.statusCode() == 404) {
        throw new StorageException("object " + key + " is missing from repository " + location, e);
      }
      throw mapped("reading", key, e);
    } catch (IOException | RuntimeException e) {
      throw mapped("reading", key, e);
    }
    return new MappedInputStream(in, e -> mapped("reading", key, e));
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    String objectKey = objectKey(key);
    try {
      HeadObjectResponse head = retry.call(() -> s3.headObject(r -> r.bucket(location.bucket()).key(objectKey)));
      Instant modified = head.lastModified() == null ? Instant.EPOCH : head.lastModified();
      return Optional.of(new ObjectInfo(key, head.contentLength() == null ? 0 : head.contentLength(), modified));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (AwsServiceException e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw mapped("looking up", key, e);
    } catch (IOException | RuntimeException e) {
      throw mapped("looking up", key, e);
    }
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    String keyPrefix = location.keyPrefix();
    List<ObjectInfo> result = new ArrayList<>();
    try {
      String token = null;
      do {
        ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(location.bucket())
            .prefix(keyPrefix + prefix).maxKeys(options.listPageSize());
        if (token != null) {
          request.continuationToken(token);
        }
        ListObjectsV2Request r = request.build();
        ListObjectsV2Response page = retry.call(() -> s3.listObjectsV2(r));
        for (S3Object o : page.contents()) {
          String name = o.key();
          // A key ending in '/' is a console "folder" placeholder, not a pgfleet object.
          if (name.startsWith(keyPrefix) && !name.endsWith("/")) {
            result.add(new ObjectInfo(name.substring(keyPrefix.length()), o.size() == null ? 0 : o.size(),
                o.lastModified() == null ? Instant.EPOCH : o.lastModified()));
          }
        }
        token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
      } while (token != null);
    } catch (IOException | RuntimeException e) {
      throw mapped("listing", "'" + prefix + "'", e);
    }
    // S3 sorts by UTF-8 bytes; the interface promises String order, the same as the filesystem backend.
    result.sort((a, b) -> a.key().compareTo(b.key()));
    return result;
  }

  @Override
  public void delete(String key) throws IOException {
    String objectKey = objectKey(key);
    try {
      retry.call(() -> s3.deleteObject(r -> r.bucket(location.bucket()).key(objectKey))); // 204 when absent too
    } catch (IOException | RuntimeException e) {
      if (isStatus(e, 404)) {
        return; // some S3-compatible servers answer 404 for a missing key
      }
      throw mapped("deleting", key, e);
    }
  }

  @Override
  public boolean createIfAbsent(String key, byte[] content) throws IOException {
    String objectKey = objectKey(key);
    boolean[] attempted = {false};
    try {
      retry.call(() -> {
        boolean retried = attempted[0];
        attempted[0] = true;
        try {
          return s3.putObject(r -> r.bucket(location.bucket()).key(objectKey).ifNoneMatch("*")
              .contentType("application/octet-stream"), RequestBody.fromBytes(content));
        } catch (AwsServiceException e) {
          // An attempt whose answer was lost may have created the object: on the retry it is "already there",
          // and it is ours exactly when it holds our bytes.
          if (e.statusCode() == 412 && retried && Arrays.equals(readBack(objectKey), content)) {
            return null;
          }
          throw e;
        }
      });
      return true;
    } catch (AwsServiceException e) {
      if (e.statusCode() == 412) {
        return false;
      }
      throw mapped("committing", key, e);
    } catch (IOException | RuntimeException e) {
      throw mapped("committing", key, e);
    }
  }

  private byte[] readBack(String objectKey) {
    return s3.getObjectAsBytes(r -> r.bucket(location.bucket()).key(objectKey)).asByteArray();
  }

  @Override
  public String describe() {
    return location.toString();
  }

  @Override
  public void close() {
    s3.close();
  }
}
