package io.pgfleet.common.manifest;

import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.task.Chunk;
import java.util.List;

/**
 * One object of a backup, as the manifest records it.
 *
 * @param key the object's key relative to the backup's folder (e.g. {@code data/00001.copy.zst}), so a backup
 *     folder copied elsewhere stays whole
 *
 * @param kind {@code schema} (pg_dump custom archive), {@code globals} (pg_dumpall --globals-only SQL) or
 *     {@code table-data} (COPY text, compressed); in an archive-mode backup {@code pg-dump-plain},
 *     {@code pg-dump-custom} or {@code pg-dump-directory}
 * @param table for table data: the table, schema and name exactly as in the catalog
 * @param columns for table data: the COPY column list, in order (generated columns left out)
 * @param rows rows copied (table data)
 * @param rawBytes bytes before compression (the COPY text)
 * @param bytes bytes stored
 * @param sha256 SHA-256 of the stored bytes
 * @param contentDigest order-independent digest of the rows ({@link #contentDigestAlgorithm})
 * @param compression {@code zstd} or {@code none}
 * @param encryption {@code none} until repository encryption exists
 * @param taskId the task that wrote it
 * @param chunk for a table split across tasks: which part of it this artifact holds; null for a whole table
 * @param elapsedMillis how long the task that wrote it ran, from its start on the worker to the object's commit;
 *     null in manifests written before pgfleet recorded it
 */
public record ArtifactEntry(String key, String kind, TableRef table, List<String> columns, long rows, long rawBytes,
    long bytes, String sha256, String contentDigest, String contentDigestAlgorithm, String compression,
    String encryption, String taskId, Chunk chunk, Long elapsedMillis) {

  /** {@link #elapsedMillis}, 0 where it was not recorded. */
  public long elapsed() {
    return elapsedMillis == null ? 0 : elapsedMillis;
  }
}
