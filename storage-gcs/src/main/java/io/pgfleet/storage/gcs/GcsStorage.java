package io.pgfleet.storage.gcs;

import com.google.api.gax.paging.Page;
import com.google.cloud.BaseServiceException;
import com.google.cloud.NoCredentials;
import com.google.cloud.ReadChannel;
import com.google.cloud.WriteChannel;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.StorageOptions;
import io.pgfleet.common.storage.MappedInputStream;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A repository in Google Cloud Storage, {@code gs://bucket/prefix}: each repository key is the object
 * {@code prefix/key}, so the layout is the same as in a directory.
 *
 * <ul>
 *   <li>Writes stream through one resumable upload session per object, holding at most one upload chunk in memory
 *       ({@link Options#chunkSize()}). The object appears only when the session is finalized, which happens on
 *       {@link ObjectWriter#commit()} and nowhere else: a writer closed without commit abandons its session, so
 *       no object (and no temporary object) is left, and a previous object at the key stays as it was. GCS drops
 *       an abandoned session after a week; it is never billed as stored data.
 *   <li>{@link #createIfAbsent} is one upload with the {@code doesNotExist} precondition ({@code ifGenerationMatch=0}):
 *       of two writers, GCS lets exactly one create the object, the other gets 412 and returns false.
 *   <li>Reads stream through a read channel; a range read seeks it, so only the bytes asked for are fetched.
 *   <li>Listing is by prefix and walks every page.
 *   <li>Every call is retried on transient failures ({@link GcsRetry}).
 *   <li>Credentials come only from Google's standard chain (application default credentials: the
 *       {@code GOOGLE_APPLICATION_CREDENTIALS} key file, gcloud's login, or the metadata server); with
 *       {@code STORAGE_EMULATOR_HOST} (or the JVM property {@value #EMULATOR_HOST_PROPERTY}) set, requests go to that
 *       emulator without credentials.
 * </ul>
 */
public final class GcsStorage implements Storage {
  /** Tuning. */
  public record Options(int chunkSize, int listPageSize, GcsRetry.Settings retry) {
    /**
     * Production settings. An 8 MiB chunk keeps a worker's memory per open artifact small while keeping the number
     * of upload requests low (GCS wants chunks in multiples of 256 KiB).
     */
    public static Options defaults() {
      return new Options(8 << 20, 1000, GcsRetry.Settings.DEFAULT);
    }

    public Options {
      if (chunkSize < 256 * 1024 || chunkSize % (256 * 1024) != 0) {
        throw new IllegalArgumentException("chunk size " + chunkSize + " is not a positive multiple of 256 KiB");
      }
      if (listPageSize < 1) {
        throw new IllegalArgumentException("list page size " + listPageSize);
      }
    }

    public Options withListPageSize(int size) {
      return new Options(chunkSize, size, retry);
    }

    public Options withRetry(int maxAttempts, java.time.Duration first, java.time.Duration max) {
      return new Options(chunkSize, listPageSize, new GcsRetry.Settings(maxAttempts, first, max));
    }
  }

  private final com.google.cloud.storage.Storage gcs;
  private final boolean ownsService;
  private final GcsLocation location;
  private final Options options;
  private final GcsRetry retry;

  private GcsStorage(com.google.cloud.storage.Storage gcs, boolean ownsService, GcsLocation location, Options options) {
    this.gcs = gcs;
    this.ownsService = ownsService;
    this.location = location;
    this.options = options;
    this.retry = new GcsRetry(location.toString(), options.retry());
  }

  /** A repository on the given service; the caller keeps ownership of the service (close does not close it). */
  public static GcsStorage on(com.google.cloud.storage.Storage service, GcsLocation location, Options options) {
    return new GcsStorage(service, false, location, options);
  }

  /** A repository on the standard service: the emulator when STORAGE_EMULATOR_HOST is set, else GCS with ADC. */
  public static GcsStorage open(GcsLocation location) throws StorageException {
    return new GcsStorage(defaultService(), true, location, Options.defaults());
  }

  /**
   * The JVM property tests set instead of {@code STORAGE_EMULATOR_HOST} (the environment of a running JVM cannot be
   * changed): when set, it wins over the variable.
   */
  public static final String EMULATOR_HOST_PROPERTY = "pgfleet.gcs.emulator-host";

  static com.google.cloud.storage.Storage defaultService() throws StorageException {
    String emulator = System.getProperty(EMULATOR_HOST_PROPERTY, System.getenv("STORAGE_EMULATOR_HOST"));
    try {
      if (emulator != null && !emulator.isBlank()) {
        String project = System.getenv().getOrDefault("GOOGLE_CLOUD_PROJECT", "pgfleet-emulator");
        return emulatorOptions(emulator, project).getService();
      }
      return StorageOptions.getDefaultInstance().getService();
    } catch (RuntimeException e) {
      throw new StorageException("Google Cloud Storage client could not start: " + GcsRetry.firstLine(e)
          + "; set up application default credentials (gcloud auth application-default login, or"
          + " GOOGLE_APPLICATION_CREDENTIALS naming a service-account key file)", e);
    }
  }

  /** The client for a GCS-API emulator at {@code host:port} (or a URL): plain HTTP, no credentials. */
  static StorageOptions emulatorOptions(String emulator, String project) {
    String host = emulator.contains("://") ? emulator : "http://" + emulator;
    return StorageOptions.http().setHost(host).setProjectId(project).setCredentials(NoCredentials.getInstance())
        .build();
  }

  public GcsLocation location() {
    return location;
  }

  /** Transient failures retried so far by this storage. */
  public long retryCount() {
    return retry.retryCount();
  }

  /** Proves the bucket reachable and listable before any database work (read-only commands). */
  public void checkReadable() throws StorageException {
    try {
      retry.call(() -> gcs.list(location.bucket(), com.google.cloud.storage.Storage.BlobListOption.prefix(
          location.namePrefix()), com.google.cloud.storage.Storage.BlobListOption.pageSize(1)));
    } catch (IOException | RuntimeException e) {
      throw failure("cannot list", e);
    }
  }

  /** Writes and removes a probe object: an unwritable bucket fails before any database work starts. */
  public void checkWritable() throws StorageException {
    checkReadable();
    String probe = ".pgfleet-probe-" + UUID.randomUUID();
    try {
      try (ObjectWriter w = create(probe)) {
        w.write(1);
        w.commit();
      }
      delete(probe);
    } catch (IOException | RuntimeException e) {
      throw failure("cannot write", e);
    }
  }

  /** One line for a person: what failed where, Google's own first line, and what to do. */
  private StorageException failure(String what, Throwable e) {
    if (e instanceof StorageException s && !(s.getCause() instanceof BaseServiceException)) {
      return s;
    }
    Throwable cause = e instanceof StorageException && e.getCause() != null ? e.getCause() : e;
    int code = cause instanceof BaseServiceException b ? b.getCode() : 0;
    String hint = switch (code) {
      case 401, 403 -> "give credentials with access to the bucket through application default credentials"
          + " (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS naming a service-account"
          + " key file with roles/storage.objectAdmin on the bucket)";
      case 404 -> "check the bucket name in --repo, or create the bucket first";
      default -> "check the network, the bucket name and the credentials, then retry";
    };
    return new StorageException("repository " + location + ": " + what + " (" + GcsRetry.firstLine(cause) + "); "
        + hint, e);
  }

  private String checkKey(String key) throws StorageException {
    if (key == null || key.isEmpty() || key.startsWith("/") || key.contains("\\") || key.contains("\0")) {
      throw new StorageException("invalid object key '" + key + "'");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new StorageException("invalid object key '" + key + "': empty, '.' or '..' path segment");
      }
    }
    return location.objectName(key);
  }

  private BlobId blobId(String key) throws StorageException {
    return BlobId.of(location.bucket(), checkKey(key));
  }

  private IOException mapped(String what, String key, Exception e) {
    if (e instanceof StorageException s) {
      return s;
    }
    Throwable cause = e;
    if (e instanceof IOException && e.getCause() instanceof BaseServiceException) {
      cause = e.getCause();
    }
    return new StorageException(what + " " + key + " in repository " + location + " failed: "
        + GcsRetry.firstLine(cause), e);
  }

  @Override
  public ObjectWriter create(String key) throws IOException {
    BlobInfo info = BlobInfo.newBuilder(blobId(key)).setContentType("application/octet-stream").build();
    WriteChannel opened;
    try {
      opened = retry.call(() -> gcs.writer(info));
    } catch (IOException | RuntimeException e) {
      throw mapped("writing", key, e);
    }
    opened.setChunkSize(options.chunkSize());
    return new ObjectWriter() {
      // Dropped on commit and on close: the client's channel keeps its chunk buffer (chunkSize bytes) for as long as
      // it is reachable, and a caller may hold a finished writer longer than the upload.
      private WriteChannel channel = opened;
      private boolean committed;
      private boolean failed;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (committed || channel == null) {
          throw new IOException("object " + key + " was already " + (committed ? "committed" : "closed"));
        }
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        try {
          while (buf.hasRemaining()) {
            channel.write(buf);
          }
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
        if (failed || channel == null) {
          throw new StorageException("object " + key + " cannot be committed: "
              + (failed ? "an earlier write failed" : "its writer was closed"));
        }
        try {
          channel.close(); // finalizes the resumable session: the object appears now, whole
          committed = true;
          channel = null;
        } catch (IOException | RuntimeException e) {
          failed = true;
          throw mapped("committing", key, e);
        }
      }

      @Override
      public void close() {
        // Not committed: the session is abandoned, never finalized, so nothing appears at the key.
        channel = null;
      }
    };
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
    BlobId id = blobId(key);
    Blob blob;
    try {
      blob = retry.call(() -> gcs.get(id));
    } catch (IOException | RuntimeException e) {
      throw mapped("reading", key, e);
    }
    if (blob == null) {
      throw new StorageException("object " + key + " is missing from repository " + location);
    }
    long size = blob.getSize() == null ? 0 : blob.getSize();
    if (offset >= size) {
      return InputStream.nullInputStream(); // GCS answers a range past the end with 416
    }
    // Read the generation just looked up, so an overwrite while reading cannot mix two versions.
    BlobId pinned = BlobId.of(id.getBucket(), id.getName(), blob.getGeneration());
    ReadChannel channel;
    try {
      channel = retry.call(() -> gcs.reader(pinned));
      if (offset > 0) {
        channel.seek(offset);
      }
    } catch (IOException | RuntimeException e) {
      throw mapped("reading", key, e);
    }
    InputStream in = Channels.newInputStream(channel);
    return new MappedInputStream(in, e -> mapped("reading", key, e));
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    BlobId id = blobId(key);
    try {
      Blob blob = retry.call(() -> gcs.get(id));
      return blob == null ? Optional.empty() : Optional.of(info(key, blob));
    } catch (IOException | RuntimeException e) {
      throw mapped("looking up", key, e);
    }
  }

  private static ObjectInfo info(String key, BlobInfo blob) {
    Instant modified = Instant.EPOCH;
    if (blob.getUpdateTimeOffsetDateTime() != null) {
      modified = blob.getUpdateTimeOffsetDateTime().toInstant();
    } else if (blob.getCreateTimeOffsetDateTime() != null) {
      modified = blob.getCreateTimeOffsetDateTime().toInstant();
    }
    return new ObjectInfo(key, blob.getSize() == null ? 0 : blob.getSize(), modified);
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    String namePrefix = location.namePrefix();
    String full = namePrefix + prefix;
    List<ObjectInfo> result = new ArrayList<>();
    try {
      Page<Blob> page = retry.call(() -> gcs.list(location.bucket(),
          com.google.cloud.storage.Storage.BlobListOption.prefix(full),
          com.google.cloud.storage.Storage.BlobListOption.pageSize(options.listPageSize())));
      while (page != null) {
        for (Blob blob : page.getValues()) {
          String name = blob.getName();
          // A name ending in '/' is a console "folder" placeholder, not a pgfleet object.
          if (name.startsWith(namePrefix) && !name.endsWith("/")) {
            result.add(info(name.substring(namePrefix.length()), blob));
          }
        }
        Page<Blob> current = page;
        page = current.hasNextPage() ? retry.call(current::getNextPage) : null;
      }
    } catch (IOException | RuntimeException e) {
      throw mapped("listing", "'" + prefix + "'", e);
    }
    // GCS sorts by UTF-8 bytes; the interface promises String order, the same as the filesystem backend.
    result.sort((a, b) -> a.key().compareTo(b.key()));
    return result;
  }

  @Override
  public void delete(String key) throws IOException {
    BlobId id = blobId(key);
    try {
      retry.call(() -> gcs.delete(id)); // false when absent: deleting nothing is not an error
    } catch (IOException | RuntimeException e) {
      throw mapped("deleting", key, e);
    }
  }

  @Override
  public boolean createIfAbsent(String key, byte[] content) throws IOException {
    BlobInfo info = BlobInfo.newBuilder(blobId(key)).setContentType("application/octet-stream").build();
    boolean[] attempted = {false};
    try {
      retry.call(() -> {
        boolean retried = attempted[0];
        attempted[0] = true;
        try {
          return gcs.create(info, content, com.google.cloud.storage.Storage.BlobTargetOption.doesNotExist());
        } catch (BaseServiceException e) {
          // An attempt whose answer was lost may have created the object: on the retry it is "already there",
          // and it is ours exactly when it holds our bytes.
          if (e.getCode() == 412 && retried && java.util.Arrays.equals(gcs.readAllBytes(info.getBlobId()), content)) {
            return null;
          }
          throw e;
        }
      });
      return true;
    } catch (BaseServiceException e) {
      if (e.getCode() == 412) {
        return false;
      }
      throw mapped("committing", key, e);
    } catch (IOException | RuntimeException e) {
      throw mapped("committing", key, e);
    }
  }

  @Override
  public String describe() {
    return location.toString();
  }

  @Override
  public void close() throws IOException {
    if (ownsService) {
      try {
        gcs.close();
      } catch (Exception e) {
        throw new IOException("closing the storage client of " + location + ": " + e.getMessage(), e);
      }
    }
  }
}
