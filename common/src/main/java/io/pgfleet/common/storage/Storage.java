package io.pgfleet.common.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * An object store holding a pgfleet repository: a local directory
 * ({@link FileSystemStorage}), Google Cloud Storage (module storage-gcs) or S3 (module storage-s3). Every backend
 * passes the same contract suite ({@code StorageContract} in common's test-jar).
 * Keys are '/'-separated relative paths that pgfleet generates (never raw identifiers).
 */
public interface Storage extends Closeable {

  /**
   * Starts writing an object. Nothing is visible at {@code key} until {@link ObjectWriter#commit()}; closing a
   * writer that was not committed discards what was written, so a failed task never leaves a truncated object.
   */
  ObjectWriter create(String key) throws IOException;

  /** Reads a whole object; a missing object is a {@link StorageException} naming the key. */
  InputStream open(String key) throws IOException;

  /**
   * Reads an object from byte {@code offset} to its end (a range read: resuming a download, or reading one part of
   * a large artifact). An offset at or past the end gives an empty stream; a negative one is an
   * {@link IllegalArgumentException}; a missing object is a {@link StorageException} naming the key.
   */
  InputStream open(String key, long offset) throws IOException;

  Optional<ObjectInfo> stat(String key) throws IOException;

  /** Every object whose key starts with the prefix, at any depth, sorted by key. */
  List<ObjectInfo> list(String prefix) throws IOException;

  /** Removes the object; deleting a key that holds no object is not an error (retention and retries repeat it). */
  void delete(String key) throws IOException;

  /**
   * Writes the object only if no object exists at the key, atomically: the commit point of a backup (two writers
   * can never both commit one manifest). Returns false when the key was already taken.
   */
  boolean createIfAbsent(String key, byte[] content) throws IOException;

  /**
   * Removes what writers that never committed left under the prefix (a crashed worker's half-written object):
   * called once nothing may still write there, i.e. when a backup is complete or abandoned. Backends whose
   * uncommitted writes are invisible and expire on their own (GCS resumable uploads, S3 multipart uploads under a
   * lifecycle rule) have nothing to do.
   */
  default void removeIncomplete(String prefix) throws IOException {}

  /** Where this storage is, for messages (never with credentials). */
  String describe();

  @Override
  default void close() throws IOException {}
}
