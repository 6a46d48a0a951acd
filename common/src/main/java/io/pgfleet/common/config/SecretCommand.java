package io.pgfleet.common.config;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A secret printed by a program: the hook for a key management service or a vault ({@code aws kms decrypt ...},
 * {@code gcloud kms decrypt ... --plaintext-file=-}, {@code vault kv get -field=...}), as restic's
 * {@code --password-command}. The program gets no input and must print the secret on stdout and exit 0 within the
 * timeout. Messages name the program only: never its arguments (they may point at key material) nor its output.
 */
public final class SecretCommand {
  public static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int MAX_OUTPUT = 64 * 1024;

  private SecretCommand() {}

  /** A command that gave no secret; the message is one line, for the user. */
  public static final class FailedException extends RuntimeException {
    FailedException(String message) {
      super(message, null, false, false);
    }
  }

  /** Runs {@code argv} and returns what it printed on stdout, stripped of surrounding white space. */
  public static String run(List<String> argv, Duration timeout) {
    String what = "secret command '" + program(argv) + "'";
    Process p;
    try {
      p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
    } catch (IOException e) {
      throw new FailedException(what + " cannot be started (" + e.getMessage().lines().findFirst().orElse("")
          + "): check the program's path and that it is executable");
    }
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readCapped(p.getInputStream()));
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readCapped(p.getErrorStream()));
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new FailedException(what + " did not finish within " + timeout.toSeconds()
            + " s: check that it needs no input and can reach its service");
      }
      String stderr = new String(err.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8).strip();
      if (p.exitValue() != 0) {
        String first = stderr.lines().findFirst().orElse("").strip();
        throw new FailedException(what + " exited with " + p.exitValue()
            + (first.isEmpty() ? "" : ": " + (first.length() > 200 ? first.substring(0, 200) + "..." : first))
            + "; run it by hand to see why");
      }
      String secret = new String(out.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8).strip();
      if (secret.isEmpty()) {
        throw new FailedException(what + " printed nothing on stdout: it must print the secret");
      }
      return secret;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new FailedException(what + " was interrupted");
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new FailedException(what + ": its output could not be read");
    }
  }

  /** The program's file name, for messages. */
  static String program(List<String> argv) {
    String p = argv.isEmpty() ? "" : argv.get(0);
    if (argv.size() >= 3 && argv.get(0).equals("/bin/sh") && argv.get(1).equals("-c")) {
      p = argv.get(2).strip().split("\\s+", 2)[0];
    }
    int slash = p.lastIndexOf('/');
    return slash >= 0 ? p.substring(slash + 1) : p;
  }

  private static byte[] readCapped(InputStream in) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try (in) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        if (b.size() < MAX_OUTPUT) {
          b.write(buf, 0, Math.min(n, MAX_OUTPUT - b.size()));
        }
      }
    } catch (IOException e) {
      // the exit status says what happened
    }
    return b.toByteArray();
  }
}
