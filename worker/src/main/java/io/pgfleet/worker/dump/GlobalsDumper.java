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
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
    ProcessBuilder pb = new ProcessBuilder(List.of(pgDumpall.toString(), "--globals-only", "--no-role-passwords",
        "--no-password", "--database=" + dbname));
    // The password reaches pg_dumpall through its environment, never its command line (visible in ps).
    pb.environment().putAll(target.libpqEnvironment());
    Process p;
    try {
      p = pb.start();
    } catch (Exception e) {
      throw new TaskFailure(what + ": cannot start " + pgDumpall + ": " + e.getMessage(), false, e);
    }
    CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> tail(p.getErrorStream()));
    try (ObjectWriter w = storage.create(key);
         Sha256Counter out = new Sha256Counter(w);
         InputStream in = p.getInputStream()) {
      byte[] buf = new byte[1 << 16];
      long plain = 0;
      try (java.io.OutputStream sink = cipher.encrypt(new KeepOpen(out), RepositoryLayout.relativeToBackup(key))) {
        for (int n; (n = in.read(buf)) > 0; ) {
          sink.write(buf, 0, n);
          plain += n;
          progress.set(0, plain, out.bytes());
        }
      }
      out.flush();
      int rc = p.waitFor();
      String err = stderr.get(30, TimeUnit.SECONDS).trim();
      if (rc != 0) {
        // A broken or refused connection is worth another attempt; anything else (authentication, version, a
        // missing database) fails the same way again.
        boolean retryable = err.contains("server closed the connection") || err.contains("Connection refused")
            || err.contains("timeout expired");
        throw new TaskFailure(what + ": pg_dumpall exited with " + rc + ": " + errorLines(err), retryable, null);
      }
      String sha = out.sha256();
      w.commit();
      return new ArtifactEntry(RepositoryLayout.relativeToBackup(key), GlobalsTask.KIND, null, null, 0, plain,
          out.bytes(), sha, null, null, "none", cipher.name(), task.header().taskId(), null,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    } catch (TaskFailure e) {
      throw e;
    } catch (Exception e) {
      throw Failures.classify(what, e, target);
    } finally {
      p.destroyForcibly();
    }
  }

  private static String tail(InputStream err) {
    try {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      err.transferTo(b);
      String s = b.toString(StandardCharsets.UTF_8);
      return s.length() > 8000 ? s.substring(s.length() - 8000) : s;
    } catch (Exception e) {
      return "";
    }
  }

  private static String errorLines(String err) {
    StringBuilder sb = new StringBuilder();
    for (String l : err.split("\\R")) {
      if (l.contains("error:") || l.contains("detail:") || l.contains("hint:")) {
        sb.append(sb.length() == 0 ? "" : " / ").append(l.replaceFirst("^pg_dumpall: ", "").trim());
      }
    }
    return sb.length() > 0 ? sb.toString() : err.replaceAll("\\s*\\R\\s*", " ");
  }
}
