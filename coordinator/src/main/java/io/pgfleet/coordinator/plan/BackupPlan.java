package io.pgfleet.coordinator.plan;

import io.pgfleet.common.manifest.Manifest.SourceInfo;
import io.pgfleet.common.task.DumpFilter;
import io.pgfleet.common.task.Task;
import java.util.List;

/**
 * The tasks of one run, in publication order (schema first, then globals, then table and chunk tasks largest
 * first).
 *
 * @param estimatedBytes the COPY text all table tasks are expected to produce
 * @param notes what the planner decided that a user should know (tables split, or not split and why, the selection)
 * @param selection the pgfleet-mode selection the tasks were planned with, recorded in the manifest;
 *     {@link DumpFilter#NONE} for the whole database and in archive mode (whose selection is in its pg_dump args)
 */
public record BackupPlan(String runId, String backupId, String cluster, String database, SourceInfo source,
    List<Task> tasks, long estimatedBytes, List<String> notes, DumpFilter selection) {
  public BackupPlan {
    selection = selection == null ? DumpFilter.NONE : selection;
  }

  /** The same plan with other tasks (the same tasks carrying the backup's wrapped data key). */
  public BackupPlan withTasks(List<Task> tasks) {
    return new BackupPlan(runId, backupId, cluster, database, source, tasks, estimatedBytes, notes, selection);
  }
}
