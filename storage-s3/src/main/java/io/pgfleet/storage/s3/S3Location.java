package io.pgfleet.storage.s3;

import io.pgfleet.common.storage.StorageException;
import java.util.regex.Pattern;

/** A repository's place in an S3 bucket: {@code s3://bucket/prefix} (the prefix may be empty). */
public record S3Location(String bucket, String prefix) {
  // S3's bucket naming rules (MinIO, Ceph and R2 apply the same ones), checked here so a typo fails before any
  // request with a message that says what a bucket name looks like.
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

  public static S3Location parse(String url) throws StorageException {
    if (url == null || !url.startsWith("s3://")) {
      throw new StorageException("repository '" + url + "' is not an s3:// URL: give --repo s3://BUCKET/PREFIX");
    }
    String rest = url.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (url.contains("@")) {
      // Any '@', not only one before the first '/': a secret may itself hold a '/'. The URL is not repeated, since
      // what stands before the '@' is meant to be an access key and its secret.
      throw new StorageException("the s3:// repository URL holds '@' (credentials are never taken from it); give --repo s3://BUCKET/PREFIX"
          + " and the credentials through the AWS default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,"
          + " AWS_PROFILE, or an instance or pod role)");
    }
    if (bucket.isEmpty()) {
      throw new StorageException("repository '" + url + "' names no bucket: give --repo s3://BUCKET/PREFIX");
    }
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw new StorageException("repository '" + url + "': '" + bucket + "' is not a valid bucket name (3-63"
          + " lowercase letters, digits, '-' or '.', starting and ending with a letter or digit)");
    }
    while (prefix.endsWith("/")) {
      prefix = prefix.substring(0, prefix.length() - 1);
    }
    if (!prefix.isEmpty()) {
      for (String segment : prefix.split("/", -1)) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          throw new StorageException("repository '" + url + "': the prefix has an empty, '.' or '..' segment;"
              + " give --repo s3://BUCKET/PREFIX with a plain path");
        }
      }
      if (prefix.contains("\\") || prefix.contains("\0") || prefix.contains("\n") || prefix.contains("\r")) {
        throw new StorageException("repository '" + url + "': the prefix holds a backslash or control character");
      }
    }
    return new S3Location(bucket, prefix);
  }

  /** The object key in the bucket for a repository key. */
  String objectKey(String key) {
    return prefix.isEmpty() ? key : prefix + "/" + key;
  }

  /** What the object keys of this repository start with ("" or "prefix/"). */
  String keyPrefix() {
    return prefix.isEmpty() ? "" : prefix + "/";
  }

  @Override
  public String toString() {
    return prefix.isEmpty() ? "s3://" + bucket : "s3://" + bucket + "/" + prefix;
  }
}
