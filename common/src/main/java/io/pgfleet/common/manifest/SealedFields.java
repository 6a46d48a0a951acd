package io.pgfleet.common.manifest;

import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.task.Chunk;
import io.pgfleet.common.task.DumpFilter;
import java.util.List;

/**
 * The fields of an encrypted backup's manifest that describe the client's data, stored only sealed (the
 * manifest's {@code sealed}, docs/repository-format.md "The sealed part"): anything a reader without the key must
 * not learn. What the fleet needs without the key (ids, cluster, database, times, sizes, SHA-256s, the encryption
 * record) stays in the clear.
 *
 * @param source what the source server said (version, snapshot, WAL position, locale, role, system identifier)
 * @param selection the pg_dump-style selection of a partial backup: schema and table patterns; null for the whole
 *     database
 * @param archiveArgs an archive-mode backup's pg_dump selection flags; null in pgfleet mode
 * @param artifacts per artifact of the clear part, in its order: what the clear part leaves out
 */
public record SealedFields(Manifest.SourceInfo source, DumpFilter selection, List<String> archiveArgs,
    List<Detail> artifacts) {

  /**
   * One artifact's client-describing fields, named by its {@code key}; {@code sha256} repeats the clear part's so
   * that an artifact list edited in the clear does not match the sealed one.
   */
  public record Detail(String key, String sha256, TableRef table, List<String> columns, long rows, long rawBytes,
      String contentDigest, String contentDigestAlgorithm, Chunk chunk) {

    static Detail of(ArtifactEntry a) {
      return new Detail(a.key(), a.sha256(), a.table(), a.columns(), a.rows(), a.rawBytes(), a.contentDigest(),
          a.contentDigestAlgorithm(), a.chunk());
    }
  }
}
