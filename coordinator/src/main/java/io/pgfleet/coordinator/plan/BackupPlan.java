package io.pgfleet.coordinator.plan;

import io.pgfleet.common.manifest.Manifest.SourceInfo;
import io.pgfleet.common.task.Task;
import java.util.List;

/** The tasks of one run, in publication order (schema first, then tables largest first). */
public record BackupPlan(String runId, String backupId, String cluster, String database, SourceInfo source,
    List<Task> tasks, long estimatedBytes) {}
