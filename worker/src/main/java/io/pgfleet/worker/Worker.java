package io.pgfleet.worker;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.metrics.MetricNames;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.task.GlobalsTask;
import io.pgfleet.common.task.ArchiveTask;
import io.pgfleet.common.task.SchemaTask;
import io.pgfleet.common.task.TableDataTask;
import io.pgfleet.common.task.Task;
import io.pgfleet.common.task.TaskHeader;
import io.pgfleet.worker.dump.GlobalsDumper;
import io.pgfleet.worker.dump.ArchiveDumper;
import io.pgfleet.worker.dump.ProgressCounter;
import io.pgfleet.worker.dump.SchemaDumper;
import io.pgfleet.worker.dump.SessionPool;
import io.pgfleet.worker.dump.TableDumper;
import io.pgfleet.worker.dump.TaskFailure;
import io.pgfleet.worker.queue.KafkaTaskQueue;
import io.pgfleet.worker.queue.TaskQueue;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A worker: takes tasks from the queue, runs at most {@code slots} at once on its own bounded thread pool, and
 * reports each task's start, progress and end as events. Announces itself (partitions, free slots) every few
 * seconds on {@code pgfleet.workers} so the coordinator publishes only where a slot is free.
 */
public final class Worker {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);

  /**
   * @param staticMembership true only for worker ids that are stable across restarts (see KafkaTaskQueue)
   * @param encryptionKey the master key that unwraps the data key of an encrypted backup's tasks; null when this
   *     worker has none (a task of an encrypted backup then fails, naming the key id it needs). The key never
   *     travels in a task: standalone passes it in-process, a fleet worker reads its own file or environment.
   */
  public record Options(String workerId, int slots, int zstdLevel, boolean staticMembership,
      MasterKey encryptionKey, java.time.Duration stallTimeout) {
    /** A task whose rows and bytes have not moved for this long is stopped by the watchdog (and retried). */
    public static final java.time.Duration DEFAULT_STALL_TIMEOUT = java.time.Duration.ofMinutes(15);

    public Options(String workerId, int slots, int zstdLevel, boolean staticMembership, MasterKey encryptionKey) {
      this(workerId, slots, zstdLevel, staticMembership, encryptionKey, DEFAULT_STALL_TIMEOUT);
    }

    public Options(String workerId, int slots, int zstdLevel, boolean staticMembership) {
      this(workerId, slots, zstdLevel, staticMembership, null);
    }
  }

  /** A running task as the watchdog sees it: event-loop confined. */
  private static final class Watch {
    final String what;
    final ProgressCounter progress;
    long signature;
    long movedAt = System.nanoTime();

    Watch(String what, ProgressCounter progress) {
      this.what = what;
      this.progress = progress;
      this.signature = progress.signature();
    }
  }

  private final java.util.Map<String, Watch> watched = new java.util.HashMap<>();
  private long watchdogTimer = -1;

  private final Vertx vertx;
  private final KafkaSettings kafka;
  private final ClusterDirectory clusters;
  private final Options options;
  private final TableDumper tables;
  private final SchemaDumper schemas;
  private final GlobalsDumper globals;
  private final ArchiveDumper archives;
  /** Warm snapshot sessions between the tasks of a run, closed 3 s after their last use; one per slot at most. */
  private final SessionPool sessions;
  private long evictTimer = -1;
  private KafkaProducer<String, String> producer;
  private EventPublisher events;
  private KafkaTaskQueue queue;
  private WorkerExecutor executor;
  private long heartbeatTimer = -1;
  private boolean stopping;

  public Worker(Vertx vertx, KafkaSettings kafka, Storage storage, ClusterDirectory clusters, PgTools tools,
      Options options) {
    this.vertx = vertx;
    this.kafka = kafka;
    this.clusters = clusters;
    this.options = options;
    this.sessions = new SessionPool(3000, options.slots());
    this.tables = new TableDumper(storage, options.zstdLevel(), sessions);
    this.schemas = new SchemaDumper(storage, tools);
    this.globals = new GlobalsDumper(storage, tools);
    this.archives = new ArchiveDumper(storage, tools);
  }

  public String id() {
    return options.workerId();
  }

  public Future<Void> start() {
    Promise<Void> started = Promise.promise();
    vertx.runOnContext(v -> {
      producer = KafkaProducer.create(vertx, kafka.producerProperties("pgfleet-" + options.workerId()));
      events = new EventPublisher(producer, "/pgfleet/worker/" + options.workerId());
      // Dumps block for as long as a table takes: a pool of its own, sized to the slots, with no blocked-thread
      // warnings (a long COPY is the job, not a hang; the watchdog judges progress instead).
      executor = vertx.createSharedWorkerExecutor("pgfleet-" + options.workerId(), options.slots(),
          365, TimeUnit.DAYS);
      queue = new KafkaTaskQueue(vertx, kafka, options.workerId(), options.slots(), options.staticMembership(),
          producer);
      queue.onChange(this::announce);
      queue.start(this::run).onComplete(ar -> {
        if (ar.succeeded()) {
          heartbeatTimer = vertx.setPeriodic(0, 2000, id -> queue.refreshAssignment().onComplete(r -> announce()));
          evictTimer = vertx.setPeriodic(1000, id -> {
            if (sessions.idleCount() > 0) {
              vertx.executeBlocking(() -> {
                sessions.evictIdle();
                return null;
              }, false);
            }
          });
          io.micrometer.core.instrument.Gauge.builder(MetricNames.WORKER_SLOTS, options, Options::slots)
              .description("The worker's task slots").tag("worker", options.workerId())
              .register(io.micrometer.core.instrument.Metrics.globalRegistry);
          io.micrometer.core.instrument.Gauge.builder(MetricNames.WORKER_BUSY, queue, KafkaTaskQueue::busy)
              .description("The worker's slots running a task").tag("worker", options.workerId())
              .register(io.micrometer.core.instrument.Metrics.globalRegistry);
          watchdogTimer = vertx.setPeriodic(Math.max(200, Math.min(5000, options.stallTimeout().toMillis() / 4)),
              id -> watchdog());
          LOG.info("worker {} started with {} slots", options.workerId(), options.slots());
          started.complete();
        } else {
          started.fail(ar.cause());
        }
      });
    });
    return started.future();
  }

  /** Tells coordinators which partitions this worker owns and how many slots are busy. */
  private void announce() {
    if (stopping) {
      return;
    }
    Payloads.WorkerStatus s = new Payloads.WorkerStatus(options.workerId(), options.slots(), queue.busy(),
        queue.owned(), System.currentTimeMillis());
    producer.send(KafkaProducerRecord.create(Topics.WORKERS, options.workerId(), Json.write(s)));
  }

  private Future<Void> run(Task task, TaskQueue.Delivery delivery) {
    TaskHeader h = task.header();
    ProgressCounter progress = new ProgressCounter();
    events.publish(EventTypes.TASK_STARTED, h.cluster(), h.database(), h.runId(), h.backupId(), h.taskId(),
        new Payloads.TaskStarted(h.taskId(), task.kind(), task instanceof TableDataTask t ? t.table() : null,
            h.attempt(), options.workerId(), delivery.partition()));
    Throughput throughput = new Throughput(options.workerId());
    String watchKey = h.taskId() + "#" + h.attempt() + "@" + delivery.partition();
    watched.put(watchKey, new Watch(task.describe(), progress));
    long progressTimer = vertx.setPeriodic(1000, id -> {
      throughput.update(progress.rows(), progress.rawBytes());
      events.publish(EventTypes.TASK_PROGRESS, h.cluster(), h.database(), h.runId(), h.backupId(), h.taskId(),
          new Payloads.TaskProgress(h.taskId(), progress.rows(), progress.rawBytes(), progress.bytes()));
    });
    return executor.<ArchiveDumper.Result>executeBlocking(() -> execute(task, progress), false)
        .transform(ar -> {
          vertx.cancelTimer(progressTimer);
          watched.remove(watchKey);
          delivery.slotFree().run();
          throughput.update(progress.rows(), progress.rawBytes());
          io.micrometer.core.instrument.Metrics.counter(MetricNames.WORKER_TASKS, "worker", options.workerId(),
              "kind", task.kind(), "outcome", ar.succeeded() ? "completed" : "failed").increment();
          if (ar.succeeded()) {
            return events.publish(EventTypes.TASK_COMPLETED, h.cluster(), h.database(), h.runId(), h.backupId(),
                h.taskId(), new Payloads.TaskCompleted(h.taskId(), task.kind(), h.attempt(), options.workerId(),
                    ar.result().artifact(), task instanceof ArchiveTask ? ar.result().files() : null));
          }
          Throwable e = ar.cause();
          boolean retryable = e instanceof TaskFailure f && f.retryable();
          String reason = e instanceof TaskFailure ? e.getMessage() : "unexpected error: " + e;
          if (progress.stopReason() != null) {
            // Stopped by the watchdog: whatever the stopped work said, another attempt may well get through.
            retryable = true;
            reason = progress.stopReason() + " (" + reason + ")";
          }
          LOG.warn("worker {}: task {} failed (retryable: {}): {}", options.workerId(), h.taskId(), retryable,
              reason);
          return events.publish(EventTypes.TASK_FAILED, h.cluster(), h.database(), h.runId(), h.backupId(),
              h.taskId(), new Payloads.TaskFailed(h.taskId(), task.kind(),
                  task instanceof TableDataTask t ? t.table() : null, h.attempt(), options.workerId(), reason,
                  retryable, category(e)));
        });
  }

  /** Runs the task; the result's {@code files} matter for archive tasks only (one artifact otherwise). */
  private ArchiveDumper.Result execute(Task task, ProgressCounter progress) throws TaskFailure {
    TaskHeader h = task.header();
    MDC.put("run", h.runId());
    MDC.put("task", h.taskId());
    MDC.put("cluster", h.cluster());
    MDC.put("database", h.database());
    try {
      PgConnectionInfo target;
      try {
        target = clusters.connection(h.cluster(), h.database());
      } catch (IllegalArgumentException e) {
        throw new TaskFailure(e.getMessage(), false, e);
      }
      ArtifactCipher cipher;
      try {
        cipher = ArtifactCipher.forBackup(h.encryption(), options.encryptionKey(), "backup " + h.backupId());
      } catch (DataKeys.WrongKeyException e) {
        throw new TaskFailure("worker " + options.workerId() + ": " + e.getMessage(), false, e);
      }
      long t0 = System.nanoTime();
      // Java 17: no pattern switch yet; Task is sealed, so these branches are all there is.
      ArchiveDumper.Result r;
      if (task instanceof ArchiveTask at) {
        r = archives.dump(at, target, cipher, progress);
      } else if (task instanceof SchemaTask s) {
        r = new ArchiveDumper.Result(schemas.dump(s, target, cipher, progress), null);
      } else if (task instanceof GlobalsTask g) {
        r = new ArchiveDumper.Result(globals.dump(g, target, cipher, progress), null);
      } else {
        r = new ArchiveDumper.Result(tables.dump((TableDataTask) task, target, cipher, progress), null);
      }
      ArtifactEntry a = r.artifact();
      LOG.info("worker {}: {} done: {} rows, {} bytes stored in {} ms", options.workerId(), task.describe(),
          a.rows(), a.bytes(), (System.nanoTime() - t0) / 1_000_000);
      return r;
    } finally {
      MDC.clear();
    }
  }

  /**
   * Stops every task whose rows and bytes have not moved for the stall timeout: a COPY waiting on a lock forever, a
   * pg_dump hung on a dead connection. Its worker still reports progress every second, so neither the coordinator's
   * silence timeout nor Kafka would ever notice; the stopped task fails as retryable and is published again.
   */
  private void watchdog() {
    long now = System.nanoTime();
    for (Watch w : watched.values()) {
      long s = w.progress.signature();
      if (s != w.signature) {
        w.signature = s;
        w.movedAt = now;
      } else if (w.progress.stopReason() == null && now - w.movedAt > options.stallTimeout().toNanos()) {
        String reason = "stopped by the watchdog: no progress for " + options.stallTimeout().toSeconds() + " s";
        LOG.warn("worker {}: {}: {}", options.workerId(), w.what, reason);
        w.progress.stop(reason);
      }
    }
  }

  /** Rows and COPY bytes dumped, counted as a task goes (every second), so rates are smooth for long tasks. */
  private static final class Throughput {
    private final io.micrometer.core.instrument.Counter rows;
    private final io.micrometer.core.instrument.Counter bytes;
    private long seenRows;
    private long seenBytes;

    Throughput(String worker) {
      rows = io.micrometer.core.instrument.Metrics.counter(MetricNames.WORKER_ROWS, "worker", worker);
      bytes = io.micrometer.core.instrument.Metrics.counter(MetricNames.WORKER_BYTES, "worker", worker);
    }

    void update(long totalRows, long totalBytes) {
      if (totalRows > seenRows) {
        rows.increment(totalRows - seenRows);
        seenRows = totalRows;
      }
      if (totalBytes > seenBytes) {
        bytes.increment(totalBytes - seenBytes);
        seenBytes = totalBytes;
      }
    }
  }

  /** Completes once this worker owns partitions of the task topic, i.e. can receive tasks. */
  public Future<Void> assigned() {
    return queue.assigned();
  }

  public Future<Void> stop() {
    Promise<Void> done = Promise.promise();
    vertx.runOnContext(v -> {
      stopping = true;
      if (evictTimer >= 0) {
        vertx.cancelTimer(evictTimer);
      }
      if (heartbeatTimer >= 0) {
        vertx.cancelTimer(heartbeatTimer);
      }
      if (watchdogTimer >= 0) {
        vertx.cancelTimer(watchdogTimer);
      }
      Future<Void> q = queue == null ? Future.succeededFuture() : queue.stop();
      q.eventually(() -> producer == null ? Future.succeededFuture() : producer.close())
          .eventually(() -> executor == null ? Future.succeededFuture() : executor.close())
          .eventually(() -> vertx.executeBlocking(() -> {
            sessions.close();
            return null;
          }, false))
          .onComplete(x -> done.complete());
    });
    return done.future();
  }

  /** What failed, for alerting: the repository, the database, or else the worker itself. */
  static String category(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof io.pgfleet.common.storage.StorageException) {
        return Payloads.BackupFailed.STORAGE;
      }
      if (c instanceof java.sql.SQLException) {
        return Payloads.BackupFailed.DATABASE;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return Payloads.BackupFailed.WORKER;
  }
}
