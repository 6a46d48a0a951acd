package io.pgfleet.coordinator.plan;

import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.TableInfo;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.task.SchemaTask;
import io.pgfleet.common.task.TableDataTask;
import io.pgfleet.common.task.Task;
import io.pgfleet.common.task.TaskHeader;
import io.pgfleet.coordinator.snapshot.SnapshotHolder;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Plans a run from the catalog as the snapshot sees it: one schema task and one table-data task per table.
 * Tables come largest first, so the longest task starts first and does not finish last alone.
 */
public final class BackupPlanner {
  private BackupPlanner() {}

  public static BackupPlan plan(SnapshotHolder holder, String cluster, String database, String runId,
      String backupId) throws SQLException {
    List<TableInfo> tables = Catalog.tables(holder.connection());
    Instant now = Instant.now();
    String snapshot = holder.snapshot();
    List<Task> tasks = new ArrayList<>();
    tasks.add(new SchemaTask(new TaskHeader(backupId + "/schema", runId, backupId, cluster, database, snapshot,
        RepositoryLayout.schemaKey(cluster, database, backupId), 1, now), holder.source().serverVersionNum()));
    long total = 0;
    int n = 1;
    for (TableInfo t : tables) {
      String taskId = String.format("%s/t%05d", backupId, n);
      TaskHeader h = new TaskHeader(taskId, runId, backupId, cluster, database, snapshot,
          RepositoryLayout.dataKey(cluster, database, backupId, n), 1, now);
      tasks.add(new TableDataTask(h, t.ref(), t.columns(), t.bytes()));
      total += t.bytes();
      n++;
    }
    return new BackupPlan(runId, backupId, cluster, database, holder.source(), List.copyOf(tasks), total);
  }
}
