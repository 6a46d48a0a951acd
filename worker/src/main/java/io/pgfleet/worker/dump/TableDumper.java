package io.pgfleet.worker.dump;

import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.RowDigest;
import io.pgfleet.common.stream.Sha256Counter;
import io.pgfleet.common.task.TableDataTask;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * Copies one table under the run's snapshot: COPY text → row digest → zstd → encryption (when the backup is
 * encrypted) → SHA-256 → storage, streaming, with
 * no temporary file and memory bounded by the buffers, whatever the table's size.
 */
public final class TableDumper {
  private final Storage storage;
  private final int zstdLevel;
  private final SessionPool sessions;

  public TableDumper(Storage storage, int zstdLevel, SessionPool sessions) {
    this.storage = storage;
    this.zstdLevel = zstdLevel;
    this.sessions = sessions;
  }

  public ArtifactEntry dump(TableDataTask task, PgConnectionInfo target, ArtifactCipher cipher,
      ProgressCounter progress)
      throws TaskFailure {
    long started = System.nanoTime();
    String what = "copying " + task.table().qualified() + (task.chunk() == null ? "" : " " + task.chunk().describe());
    String key = RepositoryLayout.executionKey(task.header().objectKey(), RepositoryLayout.newExecutionId());
    String snapshot = task.header().snapshot();
    Connection c = null;
    boolean reusable = false;
    try {
      c = sessions.borrow(target, snapshot);
      PGConnection pg = c.unwrap(PGConnection.class);
      progress.onStop(() -> {
        try {
          pg.cancelQuery();
        } catch (Exception ignored) {
          // the COPY ended meanwhile, or the connection is gone: either way it no longer runs
        }
      });
      CopyManager copy = pg.getCopyAPI();
      try (ObjectWriter w = storage.create(key)) {
        Sha256Counter stored = new Sha256Counter(w);
        RowDigest rows;
        // The no-finalizer variant, closed here: ZstdOutputStream's finalizer kept every finished task's stream,
        // and through it the storage writer with its upload buffer (8 MiB for GCS), reachable until the finalizer
        // thread had run and another old-generation collection had followed. Backing up a 2 GB table in 16 chunks
        // to GCS under -Xmx256m, a full collection found 174 MiB live with it, 76 MiB without (bench/storage-heap.sh).
        try (ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(
            cipher.encrypt(new KeepOpen(stored), RepositoryLayout.relativeToBackup(key)), zstdLevel)) {
          z.setChecksum(true);
          rows = new RowDigest(z);
          // pgjdbc hands COPY over one row at a time; batching rows before the digest and zstd saves a JNI call
          // and a progress check per row. The buffer is the only copy of the data the worker holds.
          BufferedOutputStream batch = new BufferedOutputStream(new Reporting(rows, stored, progress), 1 << 17);
          copy.copyOut(copySql(task), batch);
          batch.flush();
        }
        stored.flush();
        String sha = stored.sha256();
        String digest = rows.digest();
        w.commit();
        progress.set(rows.rows(), rows.bytes(), stored.bytes());
        reusable = true;
        return new ArtifactEntry(RepositoryLayout.relativeToBackup(key), TableDataTask.KIND, task.table(),
            task.columns(), rows.rows(), rows.bytes(), stored.bytes(), sha, digest, RowDigest.ALGORITHM, "zstd", cipher.name(),
            task.header().taskId(), task.chunk(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      }
    } catch (Exception e) {
      throw Failures.classify(what, e, target);
    } finally {
      if (reusable) {
        sessions.giveBack(target, snapshot, c);
      } else if (c != null) {
        closeQuietly(c);
      }
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // the task failed already; its error is what matters
    }
  }

  static String copySql(TableDataTask task) {
    return task.chunk() == null
        ? Catalog.copyOut(task.table(), task.columns())
        : Catalog.copyOut(task.table(), task.columns(), task.chunk().predicate());
  }

  /** Publishes the digest's counters every 64 KiB of COPY text, cheaply enough to sit on the hot path. */
  private static final class Reporting extends FilterOutputStream {
    private final RowDigest rows;
    private final Sha256Counter stored;
    private final ProgressCounter progress;
    private long lastReport;

    Reporting(RowDigest rows, Sha256Counter stored, ProgressCounter progress) {
      super(rows);
      this.rows = rows;
      this.stored = stored;
      this.progress = progress;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      if (rows.bytes() - lastReport >= 65536) {
        lastReport = rows.bytes();
        progress.set(rows.rows(), rows.bytes(), stored.bytes());
      }
    }
  }
}
