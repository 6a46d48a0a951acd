package io.pgfleet.it.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** What ITs do to a backup folder with standard tools only: follow its RESTORE.md, damage one of its files. */
public final class BackupFiles {
  private BackupFiles() {}

  /**
   * Runs the {@code sh} blocks of RESTORE.md in the backup's folder with bash, as a user would paste them, with
   * {@code TARGET} set to {@code targetDb}; fails the test, showing the script and its output, if they fail.
   *
   * @return the script that ran
   */
  public static String runRestoreGuide(Path folder, String targetDb, TestPostgres pg) throws IOException,
      InterruptedException {
    String guide = Files.readString(folder.resolve("RESTORE.md"));
    StringBuilder script = new StringBuilder("set -euo pipefail\n");
    boolean inShell = false;
    for (String line : guide.split("\n")) {
      if (line.startsWith("```")) {
        inShell = line.equals("```sh");
        continue;
      }
      if (inShell) {
        script.append(line.startsWith("export TARGET=") ? "export TARGET=" + targetDb : line).append('\n');
      }
    }
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", script.toString()).directory(folder.toFile())
        .redirectErrorStream(true);
    pb.environment().putAll(pg.libpqEnv());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(script + "\n" + out).isZero();
    return script.toString();
  }

  /** Flips the lowest bit of the byte in the middle of the file: the smallest corruption a checksum must catch. */
  public static void flipMiddleByte(Path file) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0x01);
    }
  }
}
