package io.pgfleet.common.manifest;

import io.pgfleet.common.pg.TableRef;
import java.util.List;

/**
 * One object of a backup, as the manifest records it.
 *
 * @param key the object's key relative to the backup's folder (e.g. {@code data/00001.copy.zst}), so a backup
 *     folder copied elsewhere stays whole
 *
 * @param kind {@code schema} (pg_dump custom archive) or {@code table-data} (COPY text, compressed)
 * @param table for table data: the table, schema and name exactly as in the catalog
 * @param columns for table data: the COPY column list, in order (generated columns left out)
 * @param rows rows copied (table data)
 * @param rawBytes bytes before compression (the COPY text)
 * @param bytes bytes stored
 * @param sha256 SHA-256 of the stored bytes
 * @param contentDigest order-independent digest of the rows ({@link #contentDigestAlgorithm})
 * @param compression {@code zstd} or {@code none}
 * @param encryption {@code none} until repository encryption exists
 */
public record ArtifactEntry(String key, String kind, TableRef table, List<String> columns, long rows, long rawBytes,
    long bytes, String sha256, String contentDigest, String contentDigestAlgorithm, String compression,
    String encryption, String taskId) {}
