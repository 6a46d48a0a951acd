package io.pgfleet.storage.gcs;

import com.google.cloud.BaseServiceException;
import io.pgfleet.common.storage.StorageRetry;

/**
 * Retries one whole storage call on a transient failure (HTTP 408, 429, 5xx, a reset or timed-out connection); 404,
 * 403, 412 or a bad request fail at once.
 *
 * <p>This is the layer above the Google client's own retries, for what escapes them (the client gives up after its
 * own attempts, or does not retry a call it cannot prove idempotent). Streams are not retried here: an upload's
 * chunks and a download's ranges are resumed by the client itself, and a stream that fails anyway fails its task,
 * which the coordinator retries whole.
 */
public final class GcsRetry extends StorageRetry {
  GcsRetry(String name, Settings s) {
    super("gcs", name, s, GcsRetry::statusVerdict, StorageRetry::firstLine);
  }

  /** Code 0 means the client saw no HTTP answer: the cause then tells whether the connection failed. */
  private static Boolean statusVerdict(Throwable c) {
    if (c instanceof BaseServiceException e && e.getCode() > 0) {
      int code = e.getCode();
      return code == 408 || code == 429 || (code >= 500 && code < 600);
    }
    return null;
  }

  static boolean isTransient(Throwable t) {
    return isTransient(t, GcsRetry::statusVerdict);
  }
}
