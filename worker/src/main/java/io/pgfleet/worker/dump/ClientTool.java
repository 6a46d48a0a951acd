package io.pgfleet.worker.dump;

import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.stream.Sha256Counter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a PostgreSQL client program (pg_dump, pg_dumpall) for a task, the way every dumper needs it run. */
final class ClientTool {
  private ClientTool() {}

  /**
   * Runs {@code cmd} with the target's libpq environment: the password reaches the program through its
   * environment, never its command line (visible in ps). Its stdout goes into {@code sink} (discarded when null),
   * with progress reported against {@code stored}; a non-zero exit fails the task with the program's own error
   * lines on one line, retryable only when the connection was lost.
   *
   * @return the bytes the program wrote to stdout
   */
  static long run(List<String> cmd, PgConnectionInfo target, String what, OutputStream sink, Sha256Counter stored,
      ProgressCounter progress) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(target.libpqEnvironment());
    if (sink == null) {
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    }
    String program = java.nio.file.Path.of(cmd.get(0)).getFileName().toString();
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new TaskFailure(what + ": cannot start " + cmd.get(0) + ": " + e.getMessage(), false, e);
    }
    long plain = 0;
    progress.onStop(p::destroyForcibly);
    try {
      CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> tail(p.getErrorStream()));
      if (sink != null) {
        try (InputStream in = p.getInputStream()) {
          byte[] buf = new byte[1 << 16];
          for (int n; (n = in.read(buf)) > 0; ) {
            sink.write(buf, 0, n);
            plain += n;
            progress.set(0, plain, stored.bytes());
          }
        }
      }
      int rc = p.waitFor();
      String err = stderr.get(30, TimeUnit.SECONDS).trim();
      if (rc != 0) {
        String lines = errorLines(program, err);
        throw new TaskFailure(what + ": " + program + " exited with " + rc + ": " + lines, retryable(lines), null);
      }
      return plain;
    } finally {
      p.destroyForcibly();
    }
  }

  /** Only a lost or refused connection is worth another attempt; a bad pattern or an unsupported server stays bad. */
  static boolean retryable(String err) {
    String e = err.toLowerCase(Locale.ROOT);
    return e.contains("server closed the connection") || e.contains("could not receive data")
        || e.contains("connection refused") || e.contains("timeout expired")
        || e.contains("connection to server") && !e.contains("password") && !e.contains("does not exist")
        || e.contains("terminating connection");
  }

  private static String tail(InputStream err) {
    try {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      err.transferTo(b);
      String s = b.toString(StandardCharsets.UTF_8);
      return s.length() > 8000 ? s.substring(s.length() - 8000) : s;
    } catch (IOException e) {
      return "";
    }
  }

  /** The program's "error:", "detail:" and "hint:" lines, which say what went wrong, on one line. */
  static String errorLines(String program, String err) {
    StringBuilder sb = new StringBuilder();
    for (String l : err.split("\\R")) {
      if (l.contains("error:") || l.contains("detail:") || l.contains("hint:")) {
        sb.append(sb.length() == 0 ? "" : " / ").append(l.replaceFirst("^" + program + ": ", "").trim());
      }
    }
    return sb.length() > 0 ? sb.toString() : err.replaceAll("\\s*\\R\\s*", " ");
  }
}
