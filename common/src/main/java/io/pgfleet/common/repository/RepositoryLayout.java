package io.pgfleet.common.repository;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Pattern;

/**
 * Where things live in a repository: {@code <cluster>/<database>/<backup-id>/} holding {@code manifest.json},
 * {@code schema.dump}, {@code globals.sql}, {@code data/<n>.copy.zst} and {@code RESTORE.md}. Cluster and database names become
 * path segments through {@link #segment(String)}, which cannot produce '/', '.' or '..': a database named
 * {@code ../x} stays inside its folder.
 */
public final class RepositoryLayout {
  public static final String MANIFEST = "manifest.json";
  public static final String SCHEMA = "schema.dump";
  public static final String GLOBALS = "globals.sql";
  public static final String RESTORE_GUIDE = "RESTORE.md";
  /** The folder of a backup holding its restore tests' results. */
  public static final String VERIFY_DIR = "verify/";
  private static final DateTimeFormatter VERIFY_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern BACKUP_ID = Pattern.compile("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final SecureRandom RANDOM = new SecureRandom();

  private RepositoryLayout() {}

  /** A new backup id: UTC time first, so ids sort by time, then random hex so two runs in a second differ. */
  public static String newBackupId(Instant at) {
    return ID_TIME.format(at) + "-" + String.format("%06x", RANDOM.nextInt(1 << 24));
  }

  public static boolean isBackupId(String s) {
    return s != null && BACKUP_ID.matcher(s).matches();
  }

  /** Percent-encodes everything but [A-Za-z0-9_-], so any identifier maps to one safe, reversible segment. */
  public static String segment(String name) {
    StringBuilder sb = new StringBuilder();
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
        sb.append((char) c);
      } else {
        sb.append('%').append(String.format("%02X", c));
      }
    }
    return sb.length() == 0 ? "%" : sb.toString();
  }

  public static String backupPrefix(String cluster, String database, String backupId) {
    return segment(cluster) + "/" + segment(database) + "/" + backupId + "/";
  }

  public static String manifestKey(String cluster, String database, String backupId) {
    return backupPrefix(cluster, database, backupId) + MANIFEST;
  }

  public static String schemaKey(String cluster, String database, String backupId) {
    return backupPrefix(cluster, database, backupId) + SCHEMA;
  }

  public static String globalsKey(String cluster, String database, String backupId) {
    return backupPrefix(cluster, database, backupId) + GLOBALS;
  }

  public static String restoreGuideKey(String cluster, String database, String backupId) {
    return backupPrefix(cluster, database, backupId) + RESTORE_GUIDE;
  }

  /** A restore test's result: {@code verify/<yyyyMMddTHHmmssSSSZ>.json}, so the names sort by time. */
  public static String verifyKey(String cluster, String database, String backupId, Instant at) {
    return backupPrefix(cluster, database, backupId) + VERIFY_DIR + VERIFY_TIME.format(at) + ".json";
  }

  /** The object of the n-th table-data artifact: numbered by plan order, never named after the table. */
  public static String dataKey(String cluster, String database, String backupId, int n) {
    return backupPrefix(cluster, database, backupId) + String.format("data/%05d.copy.zst", n);
  }

  /** The object of chunk {@code chunk} (1-based) of the n-th table: {@code data/00001-0003.copy.zst}. */
  public static String dataKey(String cluster, String database, String backupId, int n, int chunk) {
    return backupPrefix(cluster, database, backupId) + String.format("data/%05d-%04d.copy.zst", n, chunk);
  }

  /**
   * The key one execution of a task writes: the task's key with the execution id before the extensions
   * ({@code data/00001.copy.zst} becomes {@code data/00001.9f2c01ab.copy.zst}). COPY row order and pg_dump's
   * archive header differ between two executions of the same task, so a redelivered or duplicate execution must
   * never overwrite an object whose checksum the manifest may already hold: each writes its own, the manifest
   * names the one whose completion was accepted, and the others are removed when the run ends.
   */
  public static String executionKey(String taskKey, String executionId) {
    int slash = taskKey.lastIndexOf('/');
    int dot = taskKey.indexOf('.', slash + 1);
    if (dot < 0) {
      return taskKey + "." + executionId;
    }
    return taskKey.substring(0, dot) + "." + executionId + taskKey.substring(dot);
  }

  public static String newExecutionId() {
    return String.format("%08x", RANDOM.nextInt());
  }

  /** The part of a key below its backup folder, as RESTORE.md names files. */
  public static String relativeToBackup(String key) {
    int i = key.indexOf('/', key.indexOf('/', key.indexOf('/') + 1) + 1);
    return key.substring(i + 1);
  }
}
