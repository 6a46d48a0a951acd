package io.pgfleet.common.manifest;

import java.time.Instant;
import java.util.List;

/**
 * The record of one backup, written last: a backup exists if and only if its manifest exists.
 * docs/repository-format.md documents every field.
 *
 * @param globals the cluster's roles and tablespaces ({@code globals.<exec>.sql}); null in manifests written before
 *     pgfleet dumped them
 */
public record Manifest(int formatVersion, String backupId, String runId, String cluster, String database,
    SourceInfo source, Instant startedAt, Instant finishedAt, String pgfleetVersion, List<String> copySettings,
    ArtifactEntry schema, ArtifactEntry globals, List<ArtifactEntry> data, String restoreGuideKey,
    String restoreGuideSha256) {

  public static final int FORMAT_VERSION = 1;

  /**
   * What the source server said inside the snapshot.
   *
   * @param walLsn the WAL position at the snapshot (replay position on a standby)
   * @param systemIdentifier the cluster's {@code pg_control_system()} identifier (null where it was not
   *     readable): with the database name it tells a restore that its target is the backup's own source
   */
  public record SourceInfo(String serverVersion, int serverVersionNum, String snapshot, String walLsn,
      String encoding, String collate, String ctype, String user, String systemIdentifier) {}

  /** The repository key of one of this backup's objects (manifest keys are relative to the backup's folder). */
  public String objectKey(String relativeKey) {
    return io.pgfleet.common.repository.RepositoryLayout.backupPrefix(cluster, database, backupId) + relativeKey;
  }

  public long totalBytes() {
    long total = schema == null ? 0 : schema.bytes();
    total += globals == null ? 0 : globals.bytes();
    for (ArtifactEntry a : data) {
      total += a.bytes();
    }
    return total;
  }

  public long totalRows() {
    return data.stream().mapToLong(ArtifactEntry::rows).sum();
  }

  public long tableCount() {
    return data.stream().map(ArtifactEntry::table).distinct().count();
  }
}
