package io.pgfleet.storage.s3;

import io.pgfleet.common.storage.StorageRetry;
import software.amazon.awssdk.awscore.exception.AwsServiceException;

/**
 * Retries one whole S3 call on a transient failure (HTTP 408, 429, 5xx, 409 ConditionalRequestConflict, a reset or
 * timed-out connection); 404, 403, 412 or a bad request fail at once. The same policy and defaults as the GCS
 * backend's retries ({@link StorageRetry}).
 *
 * <p>Unlike there, this is the only retry layer: the SDK's own retries are switched off ({@link S3Storage}), so
 * every retry is counted, and a conditional write that is retried knows it was (a lost answer to an attempt that
 * did create the object comes back as 412 on the next one; see {@link S3Storage#createIfAbsent}). A multipart
 * upload retries each part by itself, from the part buffer it still holds. A download stream that fails midway is
 * not retried here: it fails its task, which the coordinator retries whole.
 */
public final class S3Retry extends StorageRetry {
  S3Retry(String name, Settings s) {
    super("s3", name, s, S3Retry::statusVerdict, S3Retry::describe);
  }

  private static Boolean statusVerdict(Throwable c) {
    if (c instanceof AwsServiceException e && e.statusCode() > 0) {
      int code = e.statusCode();
      String errorCode = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
      // 409 ConditionalRequestConflict: another conditional write to the key was in flight; S3 asks to retry.
      return code == 408 || code == 429 || (code >= 500 && code < 600)
          || (code == 409 && "ConditionalRequestConflict".equals(errorCode));
    }
    return null;
  }

  static boolean isTransient(Throwable t) {
    return isTransient(t, S3Retry::statusVerdict);
  }

  /** The server's own words and code, without the SDK's request id and attempt count; else the first line. */
  static String describe(Throwable t) {
    if (t instanceof AwsServiceException e && e.awsErrorDetails() != null
        && e.awsErrorDetails().errorMessage() != null) {
      String code = e.awsErrorDetails().errorCode();
      return e.awsErrorDetails().errorMessage().strip() + " (HTTP " + e.statusCode()
          + (code == null ? "" : " " + code) + ")";
    }
    return StorageRetry.firstLine(t);
  }
}
