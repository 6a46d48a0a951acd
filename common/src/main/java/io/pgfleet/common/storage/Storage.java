package io.pgfleet.common.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * An object store holding a pgfleet repository: a local directory today, Google Cloud Storage and S3 next.
 * Keys are '/'-separated relative paths that pgfleet generates (never raw identifiers).
 */
public interface Storage extends Closeable {

  /**
   * Starts writing an object. Nothing is visible at {@code key} until {@link ObjectWriter#commit()}; closing a
   * writer that was not committed discards what was written, so a failed task never leaves a truncated object.
   */
  ObjectWriter create(String key) throws IOException;

  InputStream open(String key) throws IOException;

  Optional<ObjectInfo> stat(String key) throws IOException;

  /** Every object whose key starts with the prefix, at any depth, sorted by key. */
  List<ObjectInfo> list(String prefix) throws IOException;

  void delete(String key) throws IOException;

  /**
   * Writes the object only if no object exists at the key, atomically: the commit point of a backup (two writers
   * can never both commit one manifest). Returns false when the key was already taken.
   */
  boolean createIfAbsent(String key, byte[] content) throws IOException;

  /** Where this storage is, for messages (never with credentials). */
  String describe();

  @Override
  default void close() throws IOException {}
}
