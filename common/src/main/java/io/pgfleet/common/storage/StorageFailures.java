package io.pgfleet.common.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.List;
import java.util.Locale;

/**
 * Whether a storage failure may go away by itself (a reset connection, a timeout, a 5xx, an NFS hiccup) or is the
 * repository's definite answer (not found, no space left, read-only, permission denied, an invalid key). Only
 * transient failures are retried and count towards opening a repository's circuit: a full or read-only disk
 * answers the same way for minutes, and retrying it would only delay the run's failure and hide its reason.
 */
public final class StorageFailures {
  private StorageFailures() {}

  /** What a failure means for another attempt. */
  public enum Kind { TRANSIENT, DEFINITE }

  /**
   * Words of the operating system's and the backends' definite answers, lower case. The errno texts are what the
   * JDK puts in an IOException's message (ENOSPC, EROFS, EDQUOT, EACCES, EPERM); the others are pgfleet's own
   * StorageException messages and the object stores' answers (403 Forbidden, 401 Unauthorized, S3's Access Denied,
   * 404 Not Found) as GCS and S3 word them in their one-line messages.
   */
  private static final List<String> DEFINITE_WORDS = List.of("no space left", "read-only file system",
      "disk quota exceeded", "permission denied", "operation not permitted", "access denied", "forbidden",
      "unauthorized", "is missing from repository",
      "not found", "does not exist", "invalid object key", "escapes the repository", "cannot be committed");

  /**
   * Walks the causes: any definite verdict (by type or by the errno text in a message) decides DEFINITE; a
   * repository whose circuit is open is DEFINITE too (retrying at once cannot help). Any other IOException is
   * TRANSIENT; a RuntimeException other than an unchecked IOException is a bug or a misuse, never retried.
   */
  public static Kind classify(Throwable t) {
    boolean io = false;
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof RepositoryUnavailableException || c instanceof NoSuchFileException
          || c instanceof FileAlreadyExistsException || c instanceof AccessDeniedException
          || c instanceof NotDirectoryException || c instanceof DirectoryNotEmptyException
          || c instanceof ReadOnlyFileSystemException || c instanceof IllegalArgumentException) {
        return Kind.DEFINITE;
      }
      String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(Locale.ROOT);
      for (String w : DEFINITE_WORDS) {
        if (m.contains(w)) {
          return Kind.DEFINITE;
        }
      }
      io |= c instanceof IOException || c instanceof UncheckedIOException;
    }
    return io ? Kind.TRANSIENT : Kind.DEFINITE;
  }

  public static boolean isTransient(Throwable t) {
    return classify(t) == Kind.TRANSIENT;
  }
}
