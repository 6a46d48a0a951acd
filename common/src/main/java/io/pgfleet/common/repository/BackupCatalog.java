package io.pgfleet.common.repository;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The backup history, rebuilt from the repository alone: every manifest is a backup, nothing else is.
 * Folders without a manifest (a run that failed or is still running) are not backups and are not listed.
 */
public final class BackupCatalog {
  private final Storage storage;

  public BackupCatalog(Storage storage) {
    this.storage = storage;
  }

  /** Every backup, newest first. A manifest that cannot be read is reported, not skipped silently. */
  public List<Manifest> list() throws IOException {
    List<Manifest> result = new ArrayList<>();
    for (ObjectInfo o : storage.list("")) {
      if (o.key().endsWith("/" + RepositoryLayout.MANIFEST)) {
        result.add(read(o.key()));
      }
    }
    result.sort(Comparator.comparing(Manifest::backupId).reversed());
    return result;
  }

  /**
   * One manifest as stored: an encrypted backup's may be sealed ({@link Manifest#hasSealedPart()}), which lists, sizes
   * and retention need no key for; {@code ManifestSeal.open} gives the rest to a reader with the key.
   */
  public Manifest read(String manifestKey) throws IOException {
    Manifest m;
    try (InputStream in = storage.open(manifestKey)) {
      m = Json.read(in.readAllBytes(), Manifest.class);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new StorageException("manifest " + manifestKey + " in " + storage.describe() + " is not valid JSON ("
          + e.getOriginalMessage() + "): the backup it describes cannot be trusted");
    }
    if (m.formatVersion() > Manifest.NEWEST_FORMAT_VERSION) {
      throw new StorageException("manifest " + manifestKey + " in " + storage.describe() + " has format version "
          + m.formatVersion() + ", newer than this pgfleet reads (up to " + Manifest.NEWEST_FORMAT_VERSION
          + "): use a newer pgfleet");
    }
    return m;
  }

  /** Finds a backup by id, or the newest one for {@code latest} (optionally of one database). */
  public Manifest find(String idOrLatest, Optional<String> database) throws IOException {
    List<Manifest> all = list();
    List<Manifest> candidates = all.stream()
        .filter(m -> database.isEmpty() || database.get().equals(m.database()))
        .toList();
    if ("latest".equals(idOrLatest)) {
      if (candidates.isEmpty()) {
        throw new StorageException("no backup in repository " + storage.describe()
            + database.map(d -> " for database " + d).orElse("") + ": run 'pgfleet backup' first");
      }
      return candidates.get(0);
    }
    if (!RepositoryLayout.isBackupId(idOrLatest)) {
      throw new StorageException("'" + idOrLatest + "' is not a backup id (expected e.g. 20261125T224524Z-3fa2c1,"
          + " or 'latest'); 'pgfleet list' shows the ids");
    }
    return candidates.stream().filter(m -> m.backupId().equals(idOrLatest)).findFirst()
        .orElseThrow(() -> new StorageException("backup " + idOrLatest + " is not in repository "
            + storage.describe() + ": 'pgfleet list' shows the backups there"));
  }
}
