package io.pgfleet.common.repository;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marks a backup as being read (a restore, a verification, a restore test) so retention leaves it alone: the object
 * {@code <backup folder>/locks/<purpose>-<uuid>.json} holding {@code {purpose, holder, acquiredAt, expiresAt}}
 * exists for as long as the reader runs. A lock is only a promise until {@code expiresAt}: a reader that crashed
 * leaves its object behind, and an expired lock protects nothing (retention removes it with the backup).
 *
 * <p>Locks live in the repository, not in a coordinator, so a CLI restore on a laptop protects its backup from
 * the fleet's retention as well as an API restore does. The manifest never names them, so they are not part of the
 * backup and nothing that checks a backup ({@code verify}, RESTORE.md) looks at them.
 */
public final class BackupLocks {
  private static final Logger LOG = LoggerFactory.getLogger(BackupLocks.class);
  public static final String FOLDER = "locks/";
  public static final Duration DEFAULT_TTL = Duration.ofHours(24);

  private BackupLocks() {}

  /** What a lock object holds. {@code holder} is host and process id, never a credential. */
  public record LockInfo(String key, String purpose, String holder, Instant acquiredAt, Instant expiresAt) {
    public boolean activeAt(Instant now) {
      return expiresAt.isAfter(now);
    }
  }

  private record LockDocument(String purpose, String holder, Instant acquiredAt, Instant expiresAt) {}

  /** A held lock; closing it removes its object (a failure to do so is logged: the lock then simply expires). */
  public static final class Lock implements AutoCloseable {
    private final Storage storage;
    private final LockInfo info;
    private boolean closed;

    private Lock(Storage storage, LockInfo info) {
      this.storage = storage;
      this.info = info;
    }

    public LockInfo info() {
      return info;
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      try {
        storage.delete(info.key());
      } catch (IOException | RuntimeException e) {
        LOG.warn("cannot remove lock {} in {} ({}); it expires at {}", info.key(), storage.describe(), e.toString(),
            info.expiresAt());
      }
    }
  }

  public static Lock acquire(Storage storage, Manifest m, String purpose) throws IOException {
    return acquire(storage, m.cluster(), m.database(), m.backupId(), purpose);
  }

  public static Lock acquire(Storage storage, String cluster, String database, String backupId, String purpose)
      throws IOException {
    return acquire(storage, cluster, database, backupId, purpose, DEFAULT_TTL);
  }

  public static Lock acquire(Storage storage, String cluster, String database, String backupId, String purpose,
      Duration ttl) throws IOException {
    String p = purpose.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    String key = RepositoryLayout.backupPrefix(cluster, database, backupId) + FOLDER + p + "-" + UUID.randomUUID()
        + ".json";
    Instant now = Instant.now();
    LockDocument doc = new LockDocument(p, holder(), now, now.plus(ttl));
    if (!storage.createIfAbsent(key, Json.writePretty(doc))) {
      throw new IllegalStateException("lock " + key + " exists already (a random name repeated?)");
    }
    return new Lock(storage, new LockInfo(key, doc.purpose(), doc.holder(), doc.acquiredAt(), doc.expiresAt()));
  }

  /** The locks of a backup that protect it at {@code now}. */
  public static List<LockInfo> active(Storage storage, String cluster, String database, String backupId,
      Instant now) throws IOException {
    List<ObjectInfo> objects = storage.list(RepositoryLayout.backupPrefix(cluster, database, backupId) + FOLDER);
    return read(storage, objects).stream().filter(l -> l.activeAt(now)).toList();
  }

  /**
   * Reads the lock objects among {@code objects} (others are ignored), expired ones included. A lock object that
   * cannot be parsed (a writer from the future, a damaged file) counts as a lock of unknown purpose held for
   * {@link #DEFAULT_TTL} from its modification time: when in doubt, keep the backup.
   */
  public static List<LockInfo> read(Storage storage, List<ObjectInfo> objects) throws IOException {
    List<LockInfo> out = new ArrayList<>();
    for (ObjectInfo o : objects) {
      if (!isLockKey(o.key())) {
        continue;
      }
      try (InputStream in = storage.open(o.key())) {
        LockDocument d = Json.read(in.readAllBytes(), LockDocument.class);
        if (d.expiresAt() == null) {
          throw new IOException("no expiresAt");
        }
        out.add(new LockInfo(o.key(), d.purpose() == null ? "unknown" : d.purpose(), d.holder(), d.acquiredAt(),
            d.expiresAt()));
      } catch (io.pgfleet.common.storage.StorageException e) {
        if (storage.stat(o.key()).isPresent()) {
          throw e;
        }
        // released between the listing and the read
      } catch (IOException e) {
        Instant modified = o.modified() == null ? Instant.now() : o.modified();
        out.add(new LockInfo(o.key(), "unknown", null, modified, modified.plus(DEFAULT_TTL)));
      }
    }
    return out;
  }

  /** True for {@code <cluster>/<database>/<backup-id>/locks/<name>.json}. */
  public static boolean isLockKey(String key) {
    String[] parts = key.split("/");
    return parts.length == 5 && (parts[3] + "/").equals(FOLDER) && parts[4].endsWith(".json");
  }

  private static String holder() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "unknown-host";
    }
    return host + "/pid " + ProcessHandle.current().pid();
  }
}
