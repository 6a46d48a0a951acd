package io.pgfleet.worker.dump;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.pg.TableInfo;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import io.pgfleet.common.task.DumpFilter;
import io.pgfleet.common.task.SchemaTask;
import java.io.OutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code pg_dump -Fc --snapshot=S} for everything but the data of the tables pgfleet copies itself, limited to
 * the backup's selection (-n, -N, -T, --exclude-table-data) when it has one.
 *
 * <p>The exclusions are exact, one {@code --exclude-table-data} per table: the tempting {@code '*.*'} also drops
 * sequence values (SEQUENCE SET) and materialized view refreshes, which would restore silently wrong.
 */
public final class SchemaDumper {
  private final Storage storage;
  private final PgTools tools;

  public SchemaDumper(Storage storage, PgTools tools) {
    this.storage = storage;
    this.tools = tools;
  }

  public ArtifactEntry dump(SchemaTask task, PgConnectionInfo target, ArtifactCipher cipher, ProgressCounter progress)
      throws TaskFailure {
    long started = System.nanoTime();
    String what = "dumping the schema of " + target.database();
    String key = RepositoryLayout.executionKey(task.header().objectKey(), RepositoryLayout.newExecutionId());
    Path pgDump;
    try {
      pgDump = tools.find("pg_dump", task.serverVersionNum());
    } catch (PgTools.ToolNotFoundException e) {
      throw new TaskFailure(e.getMessage(), false, e);
    }
    List<TableInfo> tables;
    try (Connection c = SnapshotSession.open(target, task.header().snapshot(), "pgfleet-worker")) {
      tables = Catalog.tables(c);
      SnapshotSession.end(c);
    } catch (Exception e) {
      throw Failures.classify(what, e, target);
    }
    List<String> cmd = new ArrayList<>(List.of(pgDump.toString(), "--format=custom", "--no-password",
        "--snapshot=" + task.header().snapshot()));
    // The selection first, as the planner applied it: pg_dump leaves out the definitions of excluded tables and
    // schemas; each option and pattern is one argv entry, so a pattern never meets a shell.
    DumpFilter selection = task.selection();
    if (!selection.schemas().isEmpty()) {
      // As in archive mode: each -n pattern must match (the planner checked it under the same snapshot).
      cmd.add("--strict-names");
    }
    cmd.addAll(selection.pgDumpArgs());
    for (TableInfo t : tables) {
      cmd.add("--exclude-table-data=" + t.ref().exactPattern());
    }
    try (ObjectWriter w = storage.create(key); Sha256Counter out = new Sha256Counter(w)) {
      long plain;
      try (OutputStream sink = cipher.encrypt(new KeepOpen(out), RepositoryLayout.relativeToBackup(key))) {
        plain = ClientTool.run(cmd, target, what, sink, out, progress);
      }
      out.flush();
      String sha = out.sha256();
      w.commit();
      return new ArtifactEntry(RepositoryLayout.relativeToBackup(key), SchemaTask.KIND, null, null, 0, plain, out.bytes(),
          sha, null, null, "pg_dump-custom", cipher.name(), task.header().taskId(), null,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    } catch (TaskFailure e) {
      throw e;
    } catch (Exception e) {
      throw Failures.classify(what, e, target);
    }
  }
}
