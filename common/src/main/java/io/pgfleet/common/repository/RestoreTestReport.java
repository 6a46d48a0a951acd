package io.pgfleet.common.repository;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The result of one restore test of a backup, stored next to it as {@code <backup folder>/verify/<time>.json}
 * (docs/repository-format.md). Holds no credentials: the sandbox is named by host and port only.
 *
 * @param kind always {@value #KIND}
 * @param sandbox {@code host:port} of the server restored into
 * @param scratchDatabase the database the backup was restored into, dropped when the test ended
 * @param tables one check per table of the backup's table data, in manifest order
 * @param failures one line per failure, each naming the table, the assertion or the restore step that failed
 * @param timings milliseconds spent restoring, checking tables, running assertions, and in all
 * @param sealed for an encrypted backup: base64 of {@code tables}, {@code assertions} and {@code failures}
 *     ({@link SealedResults}, which name tables and hold row counts, digests and the assertions' SQL),
 *     AES-256-GCM-sealed with the backup's data key (docs/repository-format.md); the report as stored
 *     ({@link #write}) then has those three empty. Null for an unencrypted backup and in older reports
 */
public record RestoreTestReport(String backupId, String cluster, String database, String kind, boolean passed,
    Instant startedAt, Instant finishedAt, String sandbox, String scratchDatabase, List<TableCheck> tables,
    List<AssertionCheck> assertions, List<String> failures, Timings timings, String pgfleetVersion, String sealed) {
  public static final String KIND = "restore-test";

  public RestoreTestReport {
    tables = tables == null ? List.of() : tables;
    assertions = assertions == null ? List.of() : assertions;
    failures = failures == null ? List.of() : failures;
  }

  /** What {@link #sealed} holds. */
  public record SealedResults(List<TableCheck> tables, List<AssertionCheck> assertions, List<String> failures) {}

  /** True when this report carries a sealed part (as stored, its tables, assertions and failures are then empty). */
  public boolean hasSealedPart() {
    return sealed != null;
  }

  public SealedResults sealedResults() {
    return new SealedResults(tables, assertions, failures);
  }

  /** This report with {@code sealed} set; its own fields stay, until {@link #write} stores it without them. */
  public RestoreTestReport withSealed(String sealed) {
    return new RestoreTestReport(backupId, cluster, database, kind, passed, startedAt, finishedAt, sandbox,
        scratchDatabase, tables, assertions, failures, timings, pgfleetVersion, sealed);
  }

  /** A stored report with what its sealed part held. */
  public RestoreTestReport unsealedWith(SealedResults r) {
    return new RestoreTestReport(backupId, cluster, database, kind, passed, startedAt, finishedAt, sandbox,
        scratchDatabase, r.tables(), r.assertions(), r.failures(), timings, pgfleetVersion, null);
  }

  /** The report as stored: with a sealed part, its tables, assertions and failures only in there. */
  public RestoreTestReport stored() {
    return sealed == null ? this : new RestoreTestReport(backupId, cluster, database, kind, passed, startedAt,
        finishedAt, sandbox, scratchDatabase, List.of(), List.of(), List.of(), timings, pgfleetVersion, sealed);
  }

  /**
   * @param digest the digest of the restored rows read back, null when they could not be read
   * @param ok rows and digest both equal the manifest's
   */
  public record TableCheck(TableRef table, int artifacts, long expectedRows, Long rows, String expectedDigest,
      String digest, boolean ok) {}

  /** @param error why it failed (false, not one boolean, an SQL error), null when it held */
  public record AssertionCheck(String sql, boolean ok, String error) {}

  public record Timings(long restoreMillis, long checkMillis, long assertionsMillis, long totalMillis) {}

  public long rowsChecked() {
    return tables.stream().mapToLong(t -> t.rows() == null ? 0 : t.rows()).sum();
  }

  public long durationMillis() {
    return finishedAt.toEpochMilli() - startedAt.toEpochMilli();
  }

  /** Where this result goes in the repository. */
  public String key() {
    return RepositoryLayout.verifyKey(cluster, database, backupId, finishedAt);
  }

  /** Writes the result into its backup's folder ({@link #stored()}: sealed parts stay sealed) and returns its key. */
  public String write(Storage storage) throws IOException {
    String key = key();
    storage.createIfAbsent(key, Json.writePretty(stored()));
    return key;
  }

  public static RestoreTestReport read(Storage storage, String key) throws IOException {
    try (InputStream in = storage.open(key)) {
      return Json.read(in.readAllBytes(), RestoreTestReport.class);
    }
  }

  /** The newest restore test of one backup, if any. */
  public static Optional<RestoreTestReport> latest(Storage storage, Manifest m) throws IOException {
    String prefix = RepositoryLayout.backupPrefix(m.cluster(), m.database(), m.backupId())
        + RepositoryLayout.VERIFY_DIR;
    Optional<String> newest = storage.list(prefix).stream().map(ObjectInfo::key).filter(RestoreTestReport::isResult)
        .max(String::compareTo);
    return newest.isEmpty() ? Optional.empty() : Optional.of(read(storage, newest.get()));
  }

  /**
   * The newest result key of every backup that has one, keyed by the backup's folder ({@code cluster/db/id/}), from
   * one listing of the whole repository.
   */
  public static Map<String, String> latestKeys(Storage storage) throws IOException {
    Map<String, String> newest = new HashMap<>();
    for (ObjectInfo o : storage.list("")) {
      String key = o.key();
      if (isResult(key)) {
        String folder = key.substring(0, key.lastIndexOf("/" + RepositoryLayout.VERIFY_DIR) + 1);
        newest.merge(folder, key, (a, b) -> a.compareTo(b) >= 0 ? a : b);
      }
    }
    return newest;
  }

  /** Every result key of the repository, keyed by the backup's folder, newest first within each. */
  public static Map<String, List<String>> allKeys(Storage storage) throws IOException {
    Map<String, List<String>> all = new HashMap<>();
    for (ObjectInfo o : storage.list("")) {
      String key = o.key();
      if (isResult(key)) {
        String folder = key.substring(0, key.lastIndexOf("/" + RepositoryLayout.VERIFY_DIR) + 1);
        all.computeIfAbsent(folder, f -> new java.util.ArrayList<>()).add(key);
      }
    }
    all.values().forEach(l -> l.sort(java.util.Comparator.reverseOrder()));
    return all;
  }

  static boolean isResult(String key) {
    int i = key.lastIndexOf("/" + RepositoryLayout.VERIFY_DIR);
    return i >= 0 && key.endsWith(".json") && key.indexOf('/', i + 1 + RepositoryLayout.VERIFY_DIR.length()) < 0;
  }
}
