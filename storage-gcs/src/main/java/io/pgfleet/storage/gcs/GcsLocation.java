package io.pgfleet.storage.gcs;

import io.pgfleet.common.storage.StorageException;
import java.util.regex.Pattern;

/** A repository's place in Google Cloud Storage: {@code gs://bucket/prefix} (the prefix may be empty). */
public record GcsLocation(String bucket, String prefix) {
  // Google's bucket naming rules (the dotted, domain-named form included), checked here so a typo fails before any
  // request with a message that says what a bucket name looks like.
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]");

  public static GcsLocation parse(String url) throws StorageException {
    if (url == null || !url.startsWith("gs://")) {
      throw new StorageException("repository '" + url + "' is not a gs:// URL: give --repo gs://BUCKET/PREFIX");
    }
    String rest = url.substring("gs://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (bucket.isEmpty()) {
      throw new StorageException("repository '" + url + "' names no bucket: give --repo gs://BUCKET/PREFIX");
    }
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw new StorageException("repository '" + url + "': '" + bucket + "' is not a valid bucket name (3-63"
          + " lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
    }
    while (prefix.endsWith("/")) {
      prefix = prefix.substring(0, prefix.length() - 1);
    }
    if (!prefix.isEmpty()) {
      for (String segment : prefix.split("/", -1)) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          throw new StorageException("repository '" + url + "': the prefix has an empty, '.' or '..' segment;"
              + " give --repo gs://BUCKET/PREFIX with a plain path");
        }
      }
      if (prefix.contains("\\") || prefix.contains("\0") || prefix.contains("\n") || prefix.contains("\r")) {
        throw new StorageException("repository '" + url + "': the prefix holds a backslash or control character");
      }
    }
    return new GcsLocation(bucket, prefix);
  }

  /** The object name for a repository key. */
  String objectName(String key) {
    return prefix.isEmpty() ? key : prefix + "/" + key;
  }

  /** What the object names of this repository start with ("" or "prefix/"). */
  String namePrefix() {
    return prefix.isEmpty() ? "" : prefix + "/";
  }

  @Override
  public String toString() {
    return prefix.isEmpty() ? "gs://" + bucket : "gs://" + bucket + "/" + prefix;
  }
}
