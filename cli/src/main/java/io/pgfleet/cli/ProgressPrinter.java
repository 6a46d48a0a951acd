package io.pgfleet.cli;

import io.pgfleet.coordinator.run.RunProgress;
import io.pgfleet.worker.restore.Restorer;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Shows progress on stderr: one line rewritten in place on a terminal, a plain line every few seconds otherwise
 * (logs, CI), so long runs always say rows, bytes, rate and time left.
 */
final class ProgressPrinter {
  private final PrintStream out;
  private final boolean terminal;
  private final long start = System.nanoTime();
  private long lastPlain;
  private int lastWidth;
  private boolean notesShown;

  ProgressPrinter(PrintStream out) {
    this.out = out;
    this.terminal = System.console() != null && System.getenv("TERM") != null && !"dumb".equals(System.getenv("TERM"));
  }

  synchronized void backup(RunProgress p) {
    if (!notesShown) {
      notesShown = true;
      for (String n : p.planNotes()) {
        done();
        out.println("pgfleet: plan: " + n);
      }
    }
    String eta = p.eta().map(Formats::duration).orElse("--:--");
    String line = String.format(Locale.ROOT, "backup %s: %d/%d tasks (%d running), %s rows, %s read, %s stored,"
            + " %s/s, %3.0f%%, ETA %s",
        p.backupId(), p.tasksDone(), p.tasksTotal(), p.tasksRunning(), Formats.count(p.rows()),
        Formats.bytes(p.rawBytes()), Formats.bytes(p.storedBytes()), Formats.bytes((long) p.bytesPerSecond()),
        p.fraction() * 100, eta);
    emit(line, p.tasksDone() == p.tasksTotal());
  }

  synchronized void restore(Restorer.Progress p) {
    double secs = (System.nanoTime() - start) / 1e9;
    String line = String.format(Locale.ROOT, "restore: %s, %d/%d tables, %s rows, %s loaded, %s/s, %s elapsed",
        p.phase(), p.tablesDone(), p.tablesTotal(), Formats.count(p.rows()), Formats.bytes(p.rawBytes()),
        Formats.bytes((long) (secs > 0 ? p.rawBytes() / secs : 0)),
        Formats.duration(Duration.ofMillis((long) (secs * 1000))));
    emit(line, false);
  }

  private void emit(String line, boolean force) {
    long now = System.nanoTime();
    if (terminal) {
      int pad = Math.max(0, lastWidth - line.length());
      out.print("\r" + line + " ".repeat(pad));
      lastWidth = line.length();
      out.flush();
    } else if (force || now - lastPlain > 5_000_000_000L) {
      lastPlain = now;
      out.println(line);
    }
  }

  synchronized void done() {
    if (terminal && lastWidth > 0) {
      out.println();
      lastWidth = 0;
    }
  }
}
