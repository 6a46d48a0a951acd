package io.pgfleet.cli;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The figures a benchmark needs from one backup, written by {@code backup --stats-json}: the process's wall time,
 * the run's, the longest task's, and the peak heap of this JVM. In standalone mode that JVM also holds the broker
 * and the coordinator, so the peak heap bounds the workers' from above.
 */
final class RunStats {
  private RunStats() {}

  static void write(Path file, Manifest m) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("backupId", m.backupId());
    s.put("wallSeconds", ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0);
    s.put("runSeconds", Duration.between(m.startedAt(), m.finishedAt()).toMillis() / 1000.0);
    s.put("peakHeapBytes", peakHeap());
    s.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
    s.put("tasks", m.archiveMode() ? 1 : m.data().size() + (m.schema() == null ? 0 : 1) + (m.globals() == null ? 0 : 1));
    ArtifactEntry longest = m.artifacts().stream().max(Comparator.comparingLong(ArtifactEntry::elapsed))
        .orElse(null);
    s.put("largestTaskSeconds", longest == null ? 0.0 : longest.elapsed() / 1000.0);
    s.put("largestTask", longest == null ? null : m.archiveMode() ? "pg_dump archive" : longest.table() == null
        ? longest.kind() : longest.table().qualified() + (longest.chunk() == null ? "" : " " + longest.chunk().describe()));
    try {
      Files.writeString(file, Json.write(s) + "\n");
    } catch (IOException e) {
      throw new UserError("cannot write --stats-json " + file + ": " + e.getMessage());
    }
  }

  /** The sum of each heap pool's peak: at least the peak of the whole heap, never less. */
  static long peakHeap() {
    long peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
        peak += p.getPeakUsage().getUsed();
      }
    }
    return peak;
  }
}
