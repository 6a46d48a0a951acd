package io.pgfleet.coordinator.plan;

import io.pgfleet.common.manifest.Manifest.SourceInfo;
import io.pgfleet.common.task.Task;
import java.util.List;

/**
 * The tasks of one run, in publication order (schema first, then globals, then table and chunk tasks largest
 * first).
 *
 * @param estimatedBytes the COPY text all table tasks are expected to produce
 * @param notes what the planner decided that a user should know (tables split, or not split and why)
 */
public record BackupPlan(String runId, String backupId, String cluster, String database, SourceInfo source,
    List<Task> tasks, long estimatedBytes, List<String> notes) {}
