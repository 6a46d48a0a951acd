package io.pgfleet.worker.dump;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import io.pgfleet.common.task.GlobalsTask;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code pg_dumpall --globals-only --no-role-passwords} of the server's major into {@code globals.<exec>.sql}.
 *
 * <p>{@code --no-role-passwords} keeps password hashes out of the repository (a SCRAM verifier is an offline
 * dictionary-attack target, and a repository is copied far more widely than pg_authid), and makes pg_dumpall read
 * {@code pg_roles} instead of {@code pg_authid}, so the database's own role needs no superuser right: the backup of
 * a managed database whose owner is an ordinary role gets its globals too. It connects to the backed-up database
 * itself ({@code --database}), which that role can reach, rather than {@code postgres}, which it may not.
 */
public final class GlobalsDumper {
  private final Storage storage;
  private final PgTools tools;

  public GlobalsDumper(Storage storage, PgTools tools) {
    this.storage = storage;
    this.tools = tools;
  }

  public ArtifactEntry dump(GlobalsTask task, PgConnectionInfo target, ArtifactCipher cipher, ProgressCounter progress)
      throws TaskFailure {
    long started = System.nanoTime();
    String what = "dumping the globals (roles, tablespaces) of cluster " + task.header().cluster();
    String key = RepositoryLayout.executionKey(task.header().objectKey(), RepositoryLayout.newExecutionId());
    Path pgDumpall;
    try {
      pgDumpall = tools.find("pg_dumpall", task.serverVersionNum());
    } catch (PgTools.ToolNotFoundException e) {
      throw new TaskFailure(e.getMessage(), false, e);
    }
    // A bare database name holding '=' would be read as a conninfo string: pass one that names only the database.
    String dbname = "dbname='" + target.database().replace("\\", "\\\\").replace("'", "\\'") + "'";
    List<String> cmd = List.of(pgDumpall.toString(), "--globals-only", "--no-role-passwords", "--no-password",
        "--database=" + dbname);
    try (ObjectWriter w = storage.create(key); Sha256Counter out = new Sha256Counter(w)) {
      long plain;
      try (OutputStream sink = cipher.encrypt(new KeepOpen(out), RepositoryLayout.relativeToBackup(key))) {
        plain = ClientTool.run(cmd, target, what, sink, out, progress);
      }
      out.flush();
      String sha = out.sha256();
      w.commit();
      return new ArtifactEntry(RepositoryLayout.relativeToBackup(key), GlobalsTask.KIND, null, null, 0, plain,
          out.bytes(), sha, null, null, "none", cipher.name(), task.header().taskId(), null,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    } catch (TaskFailure e) {
      throw e;
    } catch (Exception e) {
      throw Failures.classify(what, e, target);
    }
  }
}
