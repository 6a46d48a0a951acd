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
 * @param sealed in an encrypted backup's manifest (format version {@value #SEALED_FORMAT_VERSION}): base64 of the
 *     fields that describe the client's data ({@link SealedFields}), AES-256-GCM-sealed with the backup's data key;
 *     those fields are then absent or zero in the clear part. Null in a manifest read back with its key, in an
 *     unencrypted backup's, and in manifests written before pgfleet sealed them
 */
public record Manifest(int formatVersion, String backupId, String runId, String cluster, String database,
    SourceInfo source, Instant startedAt, Instant finishedAt, String pgfleetVersion, List<String> copySettings,
    ArtifactEntry schema, ArtifactEntry globals, List<ArtifactEntry> data, String restoreGuideKey,
    String restoreGuideSha256, Archive archive, BackupEncryption encryption, DumpFilter selection, String sealed) {

  public Manifest {
    selection = selection == null || selection.isEmpty() ? null : selection;
    data = data == null ? List.of() : data;
  }

  /** The format of a manifest in the clear: an unencrypted backup's, or what {@code pgfleet decrypt} writes. */
  public static final int FORMAT_VERSION = 1;
  /** The format of a manifest with a {@code sealed} part: an encrypted backup's since pgfleet sealed them. */
  public static final int SEALED_FORMAT_VERSION = 2;
  /** The newest format this pgfleet reads. */
  public static final int NEWEST_FORMAT_VERSION = SEALED_FORMAT_VERSION;

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

  /**
   * True while the fields that describe the client's data are only in {@link #sealed}: source, selection, archive
   * args and, per artifact, table, columns, rows, COPY-text size, content digest and chunk are then absent or zero,
   * and {@link #tableCount()} and {@link #totalRows()} mean nothing. {@code ManifestSeal.open} gives them back.
   */
  public boolean hasSealedPart() {
    return sealed != null;
  }

  /**
   * The same manifest with other artifacts, guide and encryption, in the clear: what {@code pgfleet decrypt} writes
   * (format version {@value #FORMAT_VERSION}, no sealed part; call it on an opened manifest).
   */
  public Manifest withArtifacts(ArtifactEntry schema, ArtifactEntry globals, List<ArtifactEntry> data,
      Archive archive, String restoreGuideSha256, BackupEncryption encryption) {
    if (hasSealedPart()) {
      throw new IllegalStateException("backup " + backupId + ": the manifest is still sealed");
    }
    return new Manifest(encryption == null ? FORMAT_VERSION : formatVersion, backupId, runId, cluster, database,
        source, startedAt, finishedAt, pgfleetVersion, copySettings, schema, globals, data, restoreGuideKey,
        restoreGuideSha256, archive, encryption, selection, null);
  }

  /** The fields {@link #sealed} holds, taken from this manifest in the clear. */
  public SealedFields sealedFields() {
    if (hasSealedPart()) {
      throw new IllegalStateException("backup " + backupId + ": the manifest is already sealed");
    }
    List<SealedFields.Detail> details = new java.util.ArrayList<>();
    for (ArtifactEntry a : artifacts()) {
      details.add(SealedFields.Detail.of(a));
    }
    return new SealedFields(source, selection, archive == null ? null : archive.args(), details);
  }

  /**
   * This manifest as stored with its client-describing fields in {@code sealed} only (format version
   * {@value #SEALED_FORMAT_VERSION}): what an encrypted backup's {@code manifest.json} holds.
   */
  public Manifest sealedAs(String sealed) {
    if (hasSealedPart()) {
      throw new IllegalStateException("backup " + backupId + ": the manifest is already sealed");
    }
    Archive a = archive == null ? null
        : new Archive(archive.format(), archive.jobs(), List.of(), archive.key(), strip(archive.files()));
    return new Manifest(SEALED_FORMAT_VERSION, backupId, runId, cluster, database, null, startedAt, finishedAt,
        pgfleetVersion, copySettings, strip(schema), strip(globals), strip(data), restoreGuideKey,
        restoreGuideSha256, a, encryption, null, sealed);
  }

  /**
   * This sealed manifest with the fields {@code f} gives back, once they authenticated. The clear part is not
   * authenticated by the seal, so its artifact list must name exactly the artifacts the sealed part does, with
   * the same SHA-256: an artifact added, dropped or swapped in the clear fails here.
   *
   * @throws IllegalArgumentException naming the first artifact that differs
   */
  public Manifest unsealedWith(SealedFields f) {
    if (!hasSealedPart()) {
      return this;
    }
    java.util.Map<String, SealedFields.Detail> byKey = new java.util.LinkedHashMap<>();
    for (SealedFields.Detail d : f.artifacts() == null ? List.<SealedFields.Detail>of() : f.artifacts()) {
      byKey.put(d.key(), d);
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (ArtifactEntry a : artifacts()) {
      SealedFields.Detail d = byKey.get(a.key());
      if (d == null || !seen.add(a.key())) {
        throw new IllegalArgumentException("artifact " + a.key() + " is in the manifest's clear part but not in its"
            + " sealed part");
      }
      if (!java.util.Objects.equals(d.sha256(), a.sha256())) {
        throw new IllegalArgumentException("artifact " + a.key() + " has SHA-256 " + a.sha256() + " in the clear"
            + " part, " + d.sha256() + " in the sealed part");
      }
    }
    byKey.keySet().stream().filter(k -> !seen.contains(k)).findFirst().ifPresent(k -> {
      throw new IllegalArgumentException("artifact " + k + " is in the manifest's sealed part but not in its clear"
          + " part");
    });
    Archive a = archive == null ? null : new Archive(archive.format(), archive.jobs(),
        f.archiveArgs() == null ? List.of() : f.archiveArgs(), archive.key(), merge(archive.files(), byKey));
    return new Manifest(formatVersion, backupId, runId, cluster, database, f.source(), startedAt, finishedAt,
        pgfleetVersion, copySettings, merge(schema, byKey), merge(globals, byKey), merge(data, byKey),
        restoreGuideKey, restoreGuideSha256, a, encryption, f.selection(), null);
  }

  private static List<ArtifactEntry> strip(List<ArtifactEntry> entries) {
    return entries.stream().map(Manifest::strip).toList();
  }

  private static ArtifactEntry strip(ArtifactEntry a) {
    return a == null ? null : new ArtifactEntry(a.key(), a.kind(), null, null, 0, 0, a.bytes(), a.sha256(), null,
        null, a.compression(), a.encryption(), a.taskId(), null, a.elapsedMillis());
  }

  private static List<ArtifactEntry> merge(List<ArtifactEntry> entries, java.util.Map<String, SealedFields.Detail> d) {
    return entries.stream().map(a -> merge(a, d)).toList();
  }

  private static ArtifactEntry merge(ArtifactEntry a, java.util.Map<String, SealedFields.Detail> details) {
    if (a == null) {
      return null;
    }
    SealedFields.Detail d = details.get(a.key());
    return new ArtifactEntry(a.key(), a.kind(), d.table(), d.columns(), d.rows(), d.rawBytes(), a.bytes(),
        a.sha256(), d.contentDigest(), d.contentDigestAlgorithm(), a.compression(), a.encryption(), a.taskId(),
        d.chunk(), a.elapsedMillis());
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

  /** Rows of the table data; 0 while {@link #hasSealedPart()} (the counts are sealed). */
  public long totalRows() {
    return data.stream().mapToLong(ArtifactEntry::rows).sum();
  }

  /** Distinct tables of the table data; 0 while {@link #hasSealedPart()} (the tables are sealed). */
  public long tableCount() {
    return hasSealedPart() ? 0 : data.stream().map(ArtifactEntry::table).distinct().count();
  }
}
