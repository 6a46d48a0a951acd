package io.pgfleet.common.manifest;

import io.pgfleet.common.task.DumpFilter;
import java.time.Instant;
import java.util.List;

/**
 * The record of one backup, written last: a backup exists if and only if its manifest exists.
 * docs/repository-format.md documents every field.
 *
 * @param globals the cluster's roles and tablespaces ({@code globals.<exec>.sql}); null in manifests written before
 *     pgfleet dumped them
 * @param encryption how the artifacts are encrypted (format, master key id, wrapped data key); null for a backup
 *     stored in the clear and in manifests written before pgfleet encrypted
 * @param selection the pg_dump-style selection the backup was taken with (-n, -N, -T, --exclude-table-data): the
 *     backup holds only part of the database; null for the whole database and in manifests written before pgfleet
 *     selected in pgfleet mode (an archive-mode backup records its selection in {@code archive.args})
 */
public record Manifest(int formatVersion, String backupId, String runId, String cluster, String database,
    SourceInfo source, Instant startedAt, Instant finishedAt, String pgfleetVersion, List<String> copySettings,
    ArtifactEntry schema, ArtifactEntry globals, List<ArtifactEntry> data, String restoreGuideKey,
    String restoreGuideSha256, Archive archive, BackupEncryption encryption, DumpFilter selection) {

  public Manifest {
    selection = selection == null || selection.isEmpty() ? null : selection;
  }

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

  /**
   * The pg_dump archive of an archive-mode backup (null for a pgfleet-mode backup, whose {@code schema} and
   * {@code data} hold the artifacts instead; an archive-mode backup has no {@code schema} and empty {@code data}).
   *
   * @param format {@code plain}, {@code custom} or {@code directory}
   * @param jobs pg_dump {@code -j} (directory format; 1 otherwise)
   * @param args the selection flags pg_dump ran with ({@code --schema=P}, {@code --exclude-table-data=P}, ...)
   * @param key the archive below the backup folder: {@code archive.<exec>.sql}, {@code archive.<exec>.dump}, or the
   *     folder {@code archive.<exec>/} of a directory archive; what psql or pg_restore is given
   * @param files every object of the archive, each with its size and SHA-256 (one for plain and custom; toc.dat and
   *     the data files for directory)
   */
  public record Archive(String format, int jobs, List<String> args, String key, List<ArtifactEntry> files) {
    /** The one standard command that restores this archive into {@code target}, run from the backup's folder. */
    public String restoreCommand(String target) {
      return switch (format) {
        case "plain" -> "psql -X -v ON_ERROR_STOP=1 -d " + target + " -f " + key;
        case "custom" -> "pg_restore --exit-on-error -d " + target + " " + key;
        default -> "pg_restore --exit-on-error" + (jobs > 1 ? " -j " + jobs : "") + " -d " + target + " " + key;
      };
    }
  }

  /** True when the artifacts are stored encrypted and need the master key of {@code encryption().keyId()}. */
  public boolean encrypted() {
    return encryption != null;
  }

  /** The same manifest with other artifacts, guide and encryption: what {@code pgfleet decrypt} writes. */
  public Manifest withArtifacts(ArtifactEntry schema, ArtifactEntry globals, List<ArtifactEntry> data,
      Archive archive, String restoreGuideSha256, BackupEncryption encryption) {
    return new Manifest(formatVersion, backupId, runId, cluster, database, source, startedAt, finishedAt,
        pgfleetVersion, copySettings, schema, globals, data, restoreGuideKey, restoreGuideSha256, archive,
        encryption, selection);
  }

  /** True for a backup taken in archive mode (one pg_dump archive rather than pgfleet's schema and table data). */
  public boolean archiveMode() {
    return archive != null;
  }

  /** Every object of the backup the manifest vouches for, except RESTORE.md: schema, globals, table data, archive files. */
  public List<ArtifactEntry> artifacts() {
    List<ArtifactEntry> all = new java.util.ArrayList<>();
    if (schema != null) {
      all.add(schema);
    }
    if (globals != null) {
      all.add(globals);
    }
    all.addAll(data);
    if (archive != null) {
      all.addAll(archive.files());
    }
    return all;
  }

  /** The repository key of one of this backup's objects (manifest keys are relative to the backup's folder). */
  public String objectKey(String relativeKey) {
    return io.pgfleet.common.repository.RepositoryLayout.backupPrefix(cluster, database, backupId) + relativeKey;
  }

  public long totalBytes() {
    return artifacts().stream().mapToLong(ArtifactEntry::bytes).sum();
  }

  public long totalRows() {
    return data.stream().mapToLong(ArtifactEntry::rows).sum();
  }

  public long tableCount() {
    return data.stream().map(ArtifactEntry::table).distinct().count();
  }
}
