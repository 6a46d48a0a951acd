package io.pgfleet.worker.dump;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import io.pgfleet.common.task.ArchiveOptions;
import io.pgfleet.common.task.ArchiveTask;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the server major's {@code pg_dump --snapshot=S} in plain, custom or directory format with the task's
 * selection flags. Plain and custom stream from pg_dump's stdout into one object, hashed on the way (no temporary
 * file); a directory archive needs a directory to write into with {@code -j}, so it goes to a temporary directory
 * whose files are then stored one object each under {@code archive.<exec>/}, and the directory is removed.
 */
public final class ArchiveDumper {
  /** What a task wrote: its artifact (for an archive, the archive as psql or pg_restore is given it) and, for an archive, every object it consists of. */
  public record Result(ArtifactEntry artifact, List<ArtifactEntry> files) {}

  private final Storage storage;
  private final PgTools tools;

  public ArchiveDumper(Storage storage, PgTools tools) {
    this.storage = storage;
    this.tools = tools;
  }

  public Result dump(ArchiveTask task, PgConnectionInfo target, ArtifactCipher cipher, ProgressCounter progress)
      throws TaskFailure {
    long started = System.nanoTime();
    ArchiveOptions o = task.options();
    String what = "dumping a " + o.format() + " pg_dump archive of " + target.database();
    String taskKey = task.header().objectKey();
    String folder = taskKey.substring(0, taskKey.lastIndexOf('/') + 1);
    String key = folder + o.archiveName(RepositoryLayout.newExecutionId());
    Path pgDump;
    try {
      pgDump = tools.find("pg_dump", task.serverVersionNum());
    } catch (PgTools.ToolNotFoundException e) {
      throw new TaskFailure(e.getMessage(), false, e);
    }
    List<String> cmd = new ArrayList<>(List.of(pgDump.toString(), "--format=" + o.pgDumpFormat(), "--no-password",
        "--snapshot=" + task.header().snapshot()));
    if (o.selects()) {
      // Each -n/-t pattern must match something: a typo fails the backup instead of silently dumping less.
      cmd.add("--strict-names");
    }
    cmd.addAll(o.args());
    Path tmp = null;
    try {
      if (o.format().equals("directory")) {
        tmp = Files.createTempDirectory("pgfleet-archive-");
        Path dir = tmp.resolve("archive");
        cmd.add("--jobs=" + o.jobs());
        cmd.add("--file=" + dir);
        ClientTool.run(cmd, target, what, null, null, progress);
        List<ArtifactEntry> files = upload(dir, key, o, task, cipher, started, progress);
        long total = files.stream().mapToLong(ArtifactEntry::bytes).sum();
        ArtifactEntry archive = entry(key, o, total, total, null, cipher, task, started);
        return new Result(archive, files);
      }
      try (ObjectWriter w = storage.create(key); Sha256Counter out = new Sha256Counter(w)) {
        long plain;
        try (OutputStream sink = cipher.encrypt(new KeepOpen(out), RepositoryLayout.relativeToBackup(key))) {
          plain = ClientTool.run(cmd, target, what, sink, out, progress);
        }
        out.flush();
        String sha = out.sha256();
        w.commit();
        ArtifactEntry file = entry(key, o, plain, out.bytes(), sha, cipher, task, started);
        return new Result(file, List.of(file));
      }
    } catch (TaskFailure e) {
      throw e;
    } catch (Exception e) {
      throw Failures.classify(what, e, target);
    } finally {
      if (tmp != null) {
        deleteTree(tmp);
      }
    }
  }

  /** Stores each file of a directory archive as its own object, hashed on the way, in name order. */
  private List<ArtifactEntry> upload(Path dir, String key, ArchiveOptions o, ArchiveTask task, ArtifactCipher cipher,
      long started, ProgressCounter progress) throws IOException {
    List<Path> paths;
    try (Stream<Path> s = Files.walk(dir)) {
      paths = s.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList();
    }
    List<ArtifactEntry> files = new ArrayList<>();
    long total = 0;
    for (Path f : paths) {
      String fileKey = key + dir.relativize(f).toString().replace('\\', '/');
      try (ObjectWriter w = storage.create(fileKey); Sha256Counter out = new Sha256Counter(w)) {
        long plain;
        try (OutputStream sink = cipher.encrypt(new KeepOpen(out), RepositoryLayout.relativeToBackup(fileKey))) {
          plain = Files.copy(f, sink);
        }
        out.flush();
        String sha = out.sha256();
        w.commit();
        total += out.bytes();
        progress.set(0, total, total);
        files.add(entry(fileKey, o, plain, out.bytes(), sha, cipher, task, started));
      }
    }
    return files;
  }

  private static ArtifactEntry entry(String key, ArchiveOptions o, long rawBytes, long bytes, String sha,
      ArtifactCipher cipher, ArchiveTask task, long started) {
    return new ArtifactEntry(RepositoryLayout.relativeToBackup(key), o.artifactKind(), null, null, 0, rawBytes, bytes,
        sha, null, null, o.format().equals("plain") ? "none" : "pg_dump-" + o.format(), cipher.name(),
        task.header().taskId(), null, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort: a leftover temp file is logged by nobody and harms nothing but disk
        }
      });
    } catch (IOException e) {
      // the directory is gone already
    }
  }
}
