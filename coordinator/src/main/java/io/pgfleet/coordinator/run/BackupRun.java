package io.pgfleet.coordinator.run;

import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.task.TableDataTask;
import io.pgfleet.common.task.Task;
import io.pgfleet.coordinator.plan.BackupPlan;
import io.pgfleet.coordinator.snapshot.SnapshotHolder;
import io.vertx.core.Promise;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** The state of one run as the coordinator tracks it from events. Confined to the coordinator's context. */
public final class BackupRun {
  public enum Status { PENDING, PUBLISHED, STARTED, COMPLETED }

  /** One task of the run: its latest attempt, where it stands, and what it has reported. */
  public static final class TaskState {
    private Task task;
    private Status status = Status.PENDING;
    private long publishedAt;
    private long lastHeardAt;
    private long firstStartedAt;
    /** A retried task is not published before this time (the retry's backoff). */
    private long notBefore;
    private ArtifactEntry artifact;
    private java.util.List<ArtifactEntry> files;
    private long rows;
    private long rawBytes;
    private long bytes;

    TaskState(Task task) {
      this.task = task;
    }

    public Task task() {
      return task;
    }

    public Status status() {
      return status;
    }

    /** When the task was published, or last seen queued behind a busy worker's running tasks. */
    public long publishedAt() {
      return publishedAt;
    }

    /** The task waits on a worker whose slots are all busy: its start timeout counts from now. */
    public void stillQueued(long now) {
      publishedAt = now;
    }

    public ArtifactEntry artifact() {
      return artifact;
    }

    /** The objects of a completed pg_dump archive task (null for other kinds). */
    public java.util.List<ArtifactEntry> files() {
      return files;
    }

    public long rows() {
      return rows;
    }

    public long rawBytes() {
      return rawBytes;
    }

    public long storedBytes() {
      return bytes;
    }

    /** When a worker first reported this attempt started (epoch millis), 0 before that. */
    public long firstStartedAt() {
      return firstStartedAt;
    }

    public void started() {
      lastHeardAt = System.currentTimeMillis();
      if (firstStartedAt == 0) {
        firstStartedAt = lastHeardAt;
      }
      if (status != Status.COMPLETED) {
        status = Status.STARTED;
      }
    }

    /** When a worker last said anything about this task (start or progress, sent every second while it runs). */
    public long lastHeardAt() {
      return lastHeardAt;
    }

    public void progress(long rows, long rawBytes, long bytes) {
      lastHeardAt = System.currentTimeMillis();
      this.rows = rows;
      this.rawBytes = rawBytes;
      this.bytes = bytes;
    }

    public void completed(ArtifactEntry a) {
      completed(a, null);
    }

    public void completed(ArtifactEntry a, java.util.List<ArtifactEntry> archiveFiles) {
      artifact = a;
      files = archiveFiles;
      status = Status.COMPLETED;
      rows = a.rows();
      rawBytes = a.rawBytes();
      bytes = a.bytes();
    }

    long estimate() {
      return task instanceof TableDataTask t ? Math.max(t.estimatedBytes(), 8192) : 8192;
    }
  }

  private final BackupPlan plan;
  private final SnapshotHolder holder;
  private final Promise<BackupOutcome> promise = Promise.promise();
  private final Map<String, TaskState> tasks = new LinkedHashMap<>();
  private final Deque<Task> pending = new ArrayDeque<>();
  private final Instant startedAt;
  private final Consumer<RunProgress> progressListener;
  private long waitingSince;
  private boolean ended;

  public BackupRun(BackupPlan plan, SnapshotHolder holder, Instant startedAt, Consumer<RunProgress> listener) {
    this.plan = plan;
    this.holder = holder;
    this.startedAt = startedAt;
    this.progressListener = listener;
    for (Task t : plan.tasks()) {
      tasks.put(t.header().taskId(), new TaskState(t));
      pending.add(t);
    }
  }

  public BackupPlan plan() {
    return plan;
  }

  public SnapshotHolder holder() {
    return holder;
  }

  public Promise<BackupOutcome> promise() {
    return promise;
  }

  public Instant startedAt() {
    return startedAt;
  }

  public TaskState task(String taskId) {
    return tasks.get(taskId);
  }

  public Collection<TaskState> tasks() {
    return tasks.values();
  }

  /**
   * The next task to publish, largest first as planned, skipping retries still in their backoff; marks it
   * published. Null when none is ready.
   */
  public Task nextToPublish() {
    long now = System.currentTimeMillis();
    for (java.util.Iterator<Task> it = pending.iterator(); it.hasNext(); ) {
      Task t = it.next();
      TaskState s = tasks.get(t.header().taskId());
      if (s.notBefore > now) {
        continue;
      }
      it.remove();
      s.task = t;
      s.status = Status.PUBLISHED;
      s.publishedAt = now;
      return t;
    }
    return null;
  }

  /** True when a task is ready to publish now (pending, and not a retry still in its backoff). */
  public boolean hasPending() {
    long now = System.currentTimeMillis();
    return pending.stream().anyMatch(t -> tasks.get(t.header().taskId()).notBefore <= now);
  }

  public int pendingCount() {
    return pending.size();
  }

  /** True once any task of the run has been started by a worker. */
  public boolean anyStarted() {
    return tasks.values().stream().anyMatch(t -> t.status == Status.STARTED || t.status == Status.COMPLETED);
  }

  /** Queues the task again as a new attempt, ahead of tasks not yet published. */
  public void retry(TaskState s, int attempt) {
    retry(s, attempt, 0);
  }

  /** As {@link #retry(TaskState, int)}, not to be published before {@code notBeforeMillis}. */
  public void retry(TaskState s, int attempt, long notBeforeMillis) {
    s.notBefore = notBeforeMillis;
    s.task = s.task.withAttempt(attempt);
    s.status = Status.PENDING;
    s.firstStartedAt = 0;
    pending.addFirst(s.task);
  }

  public boolean allCompleted() {
    return tasks.values().stream().allMatch(t -> t.status == Status.COMPLETED);
  }

  public boolean ended() {
    return ended;
  }

  public void end() {
    ended = true;
  }

  /** Since when this run has waited for any worker to show up; 0 resets. */
  public long waitingSince(long now) {
    if (waitingSince == 0) {
      waitingSince = now;
    }
    return waitingSince;
  }

  public void stopWaiting() {
    waitingSince = 0;
  }

  public void reportProgress() {
    if (progressListener != null) {
      progressListener.accept(progress());
    }
  }

  public RunProgress progress() {
    int done = 0;
    int running = 0;
    long rows = 0;
    long raw = 0;
    long stored = 0;
    double estTotal = 0;
    double estDone = 0;
    for (TaskState t : tasks.values()) {
      long est = t.estimate();
      estTotal += est;
      if (t.status == Status.COMPLETED) {
        done++;
        estDone += est;
      } else if (t.status == Status.STARTED) {
        running++;
        // COPY text and heap size differ; the estimate only needs to move with the work and stop at the task.
        estDone += Math.min(t.rawBytes, est * 0.95);
      }
      rows += t.rows;
      raw += t.rawBytes;
      stored += t.bytes;
    }
    return new RunProgress(plan.backupId(), plan.database(), tasks.size(), done, running, rows, raw, stored,
        estTotal == 0 ? 1 : estDone / estTotal, Duration.between(startedAt, Instant.now()), plan.notes());
  }
}
