package io.pgfleet.common.retention;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.common.config.FleetConfig.RetentionPolicy;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.repository.BackupLocks;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a {@link RetentionPolicy} to one database's backups in a repository (blocking I/O; call it off any event
 * loop). It reads each backup's manifest, its {@code verify/*.json} (restore-test results) and {@code locks/*.json},
 * asks {@link RetentionPlanner} what to keep, and deletes the rest: {@code manifest.json} first, so a backup
 * deleted halfway is no longer a backup (nothing lists, verifies or restores it), then every other object of the
 * folder. A folder left without a manifest that way is finished by the next pass, as are the leftovers of failed
 * runs: a folder without a manifest whose backup id (the time its run began) is older than
 * {@link Options#leftoverAge()} and that holds no active lock. The bound is what keeps a running backup (whose
 * folder has no manifest until its very end) safe: it must exceed the longest backup run.
 */
public final class RetentionExecutor {
  private static final Logger LOG = LoggerFactory.getLogger(RetentionExecutor.class);
  public static final Duration DEFAULT_LEFTOVER_AGE = Duration.ofDays(2);
  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

  private final Storage storage;

  public RetentionExecutor(Storage storage) {
    this.storage = storage;
  }

  /**
   * @param dryRun plan and report, delete nothing
   * @param leftoverAge a folder without a manifest is removed only when its backup id is older than this
   */
  public record Options(boolean dryRun, Duration leftoverAge) {
    public static Options defaults() {
      return new Options(false, DEFAULT_LEFTOVER_AGE);
    }

    public Options withDryRun(boolean dry) {
      return new Options(dry, leftoverAge);
    }
  }

  /** A folder without a manifest that this pass removed (or would remove). */
  public record Leftover(String backupId, String prefix, int objects) {}

  /** Something that could not be deleted; the next pass tries again. */
  public record Failure(String backupId, String what) {}

  /**
   * @param decisions every backup's decision, newest first
   * @param deleted the backups deleted (in a dry run: none)
   */
  public record Report(String cluster, String database, RetentionPolicy policy, boolean dryRun,
      List<RetentionPlanner.Decision> decisions, List<RetentionPlanner.Decision> deleted, List<Leftover> leftovers,
      List<Failure> failures) {
    public long kept() {
      return decisions.stream().filter(RetentionPlanner.Decision::keep).count();
    }

    public long toDelete() {
      return decisions.size() - kept();
    }
  }

  /** The cluster/database pairs that have at least one backup, from the manifests. */
  public List<Map.Entry<String, String>> databases() throws IOException {
    TreeMap<String, Map.Entry<String, String>> found = new TreeMap<>();
    for (Manifest m : new BackupCatalog(storage).list()) {
      found.putIfAbsent(m.cluster() + "/" + m.database(), Map.entry(m.cluster(), m.database()));
    }
    return List.copyOf(found.values());
  }

  public Report apply(String cluster, String database, RetentionPolicy policy, Options options, Instant now)
      throws IOException {
    RetentionPlanner.validate(policy);
    String dbPrefix = RepositoryLayout.segment(cluster) + "/" + RepositoryLayout.segment(database) + "/";
    Map<String, List<ObjectInfo>> folders = new TreeMap<>();
    for (ObjectInfo o : storage.list(dbPrefix)) {
      String rest = o.key().substring(dbPrefix.length());
      int slash = rest.indexOf('/');
      if (slash > 0 && RepositoryLayout.isBackupId(rest.substring(0, slash))) {
        folders.computeIfAbsent(rest.substring(0, slash), k -> new ArrayList<>()).add(o);
      }
    }
    BackupCatalog catalog = new BackupCatalog(storage);
    List<RetentionPlanner.Candidate> candidates = new ArrayList<>();
    List<String> withoutManifest = new ArrayList<>();
    for (Map.Entry<String, List<ObjectInfo>> f : folders.entrySet()) {
      String id = f.getKey();
      String prefix = dbPrefix + id + "/";
      boolean hasManifest = f.getValue().stream().anyMatch(o -> o.key().equals(prefix + RepositoryLayout.MANIFEST));
      if (!hasManifest) {
        withoutManifest.add(id);
        continue;
      }
      Manifest m = catalog.read(prefix + RepositoryLayout.MANIFEST);
      List<BackupLocks.LockInfo> locks = BackupLocks.read(storage, f.getValue()).stream()
          .filter(l -> l.activeAt(now)).toList();
      candidates.add(new RetentionPlanner.Candidate(id, m.finishedAt(), restoreTestPassed(prefix, f.getValue()),
          locks));
    }
    List<RetentionPlanner.Decision> decisions = RetentionPlanner.plan(candidates, policy, now);
    List<RetentionPlanner.Decision> deleted = new ArrayList<>();
    List<Failure> failures = new ArrayList<>();
    List<Leftover> leftovers = new ArrayList<>();
    if (!options.dryRun()) {
      for (RetentionPlanner.Decision d : decisions) {
        if (d.keep()) {
          continue;
        }
        String id = d.backup().backupId();
        try {
          // A reader may have locked it since the listing: look again right before the point of no return.
          List<BackupLocks.LockInfo> now2 = BackupLocks.active(storage, cluster, database, id, Instant.now());
          if (!now2.isEmpty()) {
            failures.add(new Failure(id, "locked by " + now2.get(0).purpose() + " since the plan was made; kept"));
            continue;
          }
          deleteBackup(dbPrefix + id + "/");
          deleted.add(d);
          LOG.info("retention: deleted backup {} of {}/{}", id, cluster, database);
        } catch (IOException | RuntimeException e) {
          failures.add(new Failure(id, describe(e)));
          LOG.warn("retention: cannot delete backup {} of {}/{}: {}", id, cluster, database, describe(e));
        }
      }
    }
    Instant leftoverBefore = now.minus(options.leftoverAge());
    for (String id : withoutManifest) {
      Instant started = idTime(id);
      String prefix = dbPrefix + id + "/";
      if (!started.isBefore(leftoverBefore)) {
        continue;
      }
      List<ObjectInfo> objects = folders.get(id);
      if (BackupLocks.read(storage, objects).stream().anyMatch(l -> l.activeAt(now))) {
        continue;
      }
      if (options.dryRun()) {
        leftovers.add(new Leftover(id, prefix, objects.size()));
        continue;
      }
      try {
        deleteObjects(prefix);
        leftovers.add(new Leftover(id, prefix, objects.size()));
      } catch (IOException | RuntimeException e) {
        failures.add(new Failure(id, "folder without manifest: " + describe(e)));
      }
    }
    return new Report(cluster, database, policy, options.dryRun(), decisions, deleted, leftovers, failures);
  }

  private void deleteBackup(String prefix) throws IOException {
    storage.delete(prefix + RepositoryLayout.MANIFEST);
    deleteObjects(prefix);
  }

  private void deleteObjects(String prefix) throws IOException {
    for (ObjectInfo o : storage.list(prefix)) {
      storage.delete(o.key());
    }
    storage.removeIncomplete(prefix);
  }

  /** Any {@code verify/*.json} saying {@code "passed": true}; an unreadable one counts as not passed. */
  private boolean restoreTestPassed(String prefix, List<ObjectInfo> objects) {
    for (ObjectInfo o : objects) {
      String rel = o.key().substring(prefix.length());
      if (!rel.startsWith("verify/") || !rel.endsWith(".json") || rel.indexOf('/', 7) >= 0) {
        continue;
      }
      try (InputStream in = storage.open(o.key())) {
        JsonNode n = Json.MAPPER.readTree(in);
        if (n != null && n.path("passed").asBoolean(false)) {
          return true;
        }
      } catch (IOException | RuntimeException e) {
        LOG.warn("retention: cannot read restore-test result {}: {}", o.key(), describe(e));
      }
    }
    return false;
  }

  static Instant idTime(String backupId) {
    return LocalDateTime.parse(backupId.substring(0, 16), ID_TIME).toInstant(ZoneOffset.UTC);
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }
}
