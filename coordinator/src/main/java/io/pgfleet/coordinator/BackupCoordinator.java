package io.pgfleet.coordinator;

import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.manifest.BackupEncryption;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.TableInfo;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.ObjectWriter;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import io.pgfleet.common.task.DumpFilter;
import io.pgfleet.common.task.GlobalsTask;
import io.pgfleet.common.task.ArchiveOptions;
import io.pgfleet.common.task.ArchiveTask;
import io.pgfleet.common.task.TableDataTask;
import io.pgfleet.common.task.Task;
import io.pgfleet.coordinator.dispatch.TaskDispatcher;
import io.pgfleet.coordinator.guide.RestoreGuide;
import io.pgfleet.coordinator.plan.BackupPlan;
import io.pgfleet.coordinator.plan.BackupPlanner;
import io.pgfleet.coordinator.run.BackupFailedException;
import io.pgfleet.coordinator.run.BackupOutcome;
import io.pgfleet.coordinator.run.BackupRun;
import io.pgfleet.coordinator.run.RunProgress;
import io.pgfleet.coordinator.snapshot.SnapshotHolder;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.producer.KafkaProducer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs backups: holds the snapshot, plans, dispatches tasks through Kafka, tracks their events, and writes the
 * manifest last. All state is confined to the coordinator's Vert.x context; JDBC and storage calls run on worker
 * threads.
 */
public final class BackupCoordinator {
  private static final Logger LOG = LoggerFactory.getLogger(BackupCoordinator.class);

  /**
   * @param maxAttempts how often a retryable task failure is published again before the run fails
   * @param startTimeout how long a published task may wait for a worker to start it, and a run for a worker
   * @param silenceTimeout how long a started task may go without a word from its worker (progress comes every
   *     second) before it counts as lost and is published again as a new attempt
   */
  public record Options(int maxAttempts, Duration startTimeout, Duration silenceTimeout, Duration lockTimeout,
      String pgfleetVersion, BackupPlanner.PlanOptions plan, MasterKey encryptionKey,
      ToIntFunction<String> clusterTaskLimit) {
    public static Options defaults(String version) {
      return new Options(3, Duration.ofSeconds(120), Duration.ofSeconds(90), Duration.ofSeconds(30), version,
          BackupPlanner.PlanOptions.defaults(), null, c -> Integer.MAX_VALUE);
    }

    public Options withPlan(BackupPlanner.PlanOptions next) {
      return new Options(maxAttempts, startTimeout, silenceTimeout, lockTimeout, pgfleetVersion, next,
          encryptionKey, clusterTaskLimit);
    }

    /** Encrypts every backup with a fresh data key wrapped by {@code key} (null: store in the clear). */
    public Options withEncryption(MasterKey key) {
      return new Options(maxAttempts, startTimeout, silenceTimeout, lockTimeout, pgfleetVersion, plan, key,
          clusterTaskLimit);
    }

    /** At most {@code limit.applyAsInt(cluster)} tasks of a cluster published or running at once (bulkhead). */
    public Options withClusterTaskLimit(ToIntFunction<String> limit) {
      return new Options(maxAttempts, startTimeout, silenceTimeout, lockTimeout, pgfleetVersion, plan,
          encryptionKey, limit);
    }

    public Options withTimeouts(Duration start, Duration silence) {
      return new Options(maxAttempts, start, silence, lockTimeout, pgfleetVersion, plan, encryptionKey,
          clusterTaskLimit);
    }
  }

  private final Vertx vertx;
  private final KafkaSettings kafka;
  private final Storage storage;
  private final ClusterDirectory clusters;
  private final Options options;
  private final Map<String, BackupRun> runs = new java.util.LinkedHashMap<>();
  /** Failed runs waiting, at most {@link #DRAIN_MILLIS}, for their tasks in flight to end before the cleanup. */
  private final Map<String, Draining> draining = new HashMap<>();
  private static final long DRAIN_MILLIS = 5000;
  /** Waits before each further cleanup of a failed run: 5 s, doubling up to 2 min, about 30 min in all. */
  private static final long CLEANUP_FIRST_DELAY_MS = 5_000;
  private static final long CLEANUP_MAX_DELAY_MS = 120_000;
  private static final int CLEANUP_ATTEMPTS = 20;

  /**
   * Runs that ended, for a while: a duplicate execution of one of their tasks (redelivered after a worker died,
   * or published again after a silence) may still commit an artifact afterwards, which nothing would ever name.
   *
   * @param keep the object keys the manifest names; null for a failed run (then anything late goes, unless a
   *     manifest exists)
   */
  private record Finished(String prefix, Set<String> keep) {}

  private final Map<String, Finished> finished = new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Finished> eldest) {
      return size() > 2000;
    }
  };

  private record Draining(BackupRun run, String reason, String category, boolean retryable, Set<String> inFlight,
      long deadline) {}
  private Context context;
  private KafkaProducer<String, String> producer;
  private KafkaConsumer<String, String> consumer;
  private TaskDispatcher dispatcher;
  private EventPublisher events;
  private long timer = -1;
  private int pumpTurn;
  private Consumer<BackupRun> runListener = r -> { };

  public BackupCoordinator(Vertx vertx, KafkaSettings kafka, Storage storage, ClusterDirectory clusters,
      Options options) {
    this.vertx = vertx;
    this.kafka = kafka;
    this.storage = storage;
    this.clusters = clusters;
    this.options = options;
  }

  private record Positions(Map<TopicPartition, Long> start) {}

  /** Connects to Kafka and starts reading events and worker heartbeats from now on. */
  public Future<Void> start() {
    Promise<Void> started = Promise.promise();
    vertx.runOnContext(v -> {
      context = vertx.getOrCreateContext();
      producer = KafkaProducer.create(vertx, kafka.producerProperties("pgfleet-coordinator"));
      dispatcher = new TaskDispatcher(producer, TaskDispatcher.PREFETCH);
      events = new EventPublisher(producer, "/pgfleet/coordinator");
      vertx.executeBlocking(this::startPositions, false).compose(pos -> {
        Map<String, String> props = kafka.consumerProperties("pgfleet-coordinator-" + UUID.randomUUID(), null);
        props.put("auto.offset.reset", "latest");
        consumer = KafkaConsumer.create(vertx, props);
        consumer.pollTimeout(Duration.ofMillis(100));
        consumer.handler(this::onRecord);
        consumer.exceptionHandler(e -> LOG.warn("event consumer: {}", e.toString()));
        return consumer.assign(pos.start().keySet()).compose(x -> {
          List<Future<Void>> seeks = new ArrayList<>();
          pos.start().forEach((tp, off) -> seeks.add(consumer.seek(tp, off)));
          return Future.all(seeks);
        });
      }).onSuccess(x -> {
        timer = vertx.setPeriodic(1000, id -> tick());
        started.complete();
      }).onFailure(started::fail);
    });
    return started.future();
  }

  /**
   * Where to start reading: events from their current end (only this coordinator's runs from now on matter), and
   * worker heartbeats a little before the end, so workers already running are known without waiting a beat.
   */
  private Positions startPositions() throws Exception {
    Map<TopicPartition, Long> start = new HashMap<>();
    Topics.endOffsets(kafka, List.of(Topics.EVENTS, Topics.WORKERS)).forEach((tp, end) -> start.put(
        new TopicPartition(tp.topic(), tp.partition()), tp.topic().equals(Topics.WORKERS) ? Math.max(0, end - 200)
            : end));
    return new Positions(start);
  }


  /**
   * Backs up one database. The future completes when the manifest is written, or fails with a
   * {@link BackupFailedException} whose message says why; either way the snapshot is released.
   */
  public Future<BackupOutcome> backup(String cluster, String database, Consumer<RunProgress> progress) {
    return backup(cluster, database, null, DumpFilter.NONE, progress);
  }

  /**
   * Backs up one database, as one pg_dump archive when {@code archive} is not null (archive mode: one task under
   * the same snapshot, held until it completes), else as pgfleet's schema and table-data tasks.
   */
  public Future<BackupOutcome> backup(String cluster, String database, ArchiveOptions archive,
      DumpFilter filter, Consumer<RunProgress> progress) {
    return backup(UUID.randomUUID().toString(), cluster, database, archive, filter, progress);
  }

  /** As above, with the run id chosen by the caller (the fleet names a run before it is admitted). */
  public Future<BackupOutcome> backup(String runId, String cluster, String database, ArchiveOptions archive,
      DumpFilter filter, Consumer<RunProgress> progress) {
    Instant startedAt = Instant.now();
    String backupId = RepositoryLayout.newBackupId(startedAt);
    PgConnectionInfo target = clusters.connection(cluster, database);
    return vertx.executeBlocking(() -> {
      SnapshotHolder holder = SnapshotHolder.open(target);
      try {
        List<TableInfo> tables = Catalog.tables(holder.connection());
        holder.lockTables(tables.stream().map(TableInfo::ref).toList(), options.lockTimeout());
        BackupPlan plan = archive != null
            ? BackupPlanner.planArchive(holder, cluster, database, runId, backupId, archive)
            : BackupPlanner.plan(holder, tables, cluster, database, runId, backupId, options.plan(), filter);
        if (options.encryptionKey() != null) {
          // Only the wrapped data key travels with the tasks; each worker unwraps it with its own master key.
          BackupEncryption e = DataKeys.newBackupKey(options.encryptionKey()).record();
          plan = plan.withTasks(plan.tasks().stream().map(t -> t.withEncryption(e)).toList());
        }
        return new BackupRun(plan, holder, startedAt, progress);
      } catch (Exception e) {
        holder.close();
        throw e;
      }
    }, false).recover(e -> {
      // No snapshot, no plan: nothing was written. Said on the event stream too, so a consumer watching this
      // database sees the run end.
      String reason = message(e);
      LOG.error("run {}: cannot start the backup of {}/{}: {}", runId, cluster, database, reason);
      Future<Void> said = events == null ? Future.succeededFuture()
          : events.publish(EventTypes.BACKUP_FAILED, cluster, database, runId, backupId, null,
              new Payloads.BackupFailed(backupId, "cannot start the backup: " + reason, Payloads.BackupFailed.DATABASE));
      // The server full (too many connections), restarting or out of reach: a later run may well succeed.
      boolean retryable = io.pgfleet.common.pg.PgErrors.isTransient(e);
      return said.transform(x -> Future.<BackupRun>failedFuture(new BackupFailedException(reason, retryable)));
    })
        .compose(run -> {
          Promise<BackupOutcome> p = Promise.promise();
          context.runOnContext(v -> {
            runs.put(runId, run);
            runListener.accept(run);
            LOG.info("run {}: backup {} of {}/{}: {} tasks, snapshot {}", runId, backupId, cluster, database,
                run.plan().tasks().size(), run.plan().source().snapshot());
            run.plan().notes().forEach(n -> LOG.info("run {}: plan: {}", runId, n));
            events.publish(EventTypes.BACKUP_STARTED, cluster, database, runId, backupId, null,
                new Payloads.BackupStarted(backupId, run.plan().tasks().size(), run.plan().source().snapshot(),
                    run.plan().source().serverVersion(), run.plan().notes()));
            run.promise().future().onComplete(p);
            pump();
          });
          return p.future();
        });
  }

  private static String message(Throwable e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  private void onRecord(KafkaConsumerRecord<String, String> record) {
    try {
      if (Topics.WORKERS.equals(record.topic())) {
        if (record.value() != null) {
          dispatcher.onWorkerStatus(Json.read(record.value(), Payloads.WorkerStatus.class));
          pump();
        }
        return;
      }
      CloudEvent e = Json.read(record.value(), CloudEvent.class);
      BackupRun run = e.runid() == null ? null : runs.get(e.runid());
      if (run != null) {
        onEvent(run, e);
      } else if (e.runid() != null && draining.containsKey(e.runid()) && e.taskid() != null
          && (EventTypes.TASK_COMPLETED.equals(e.type()) || EventTypes.TASK_FAILED.equals(e.type()))) {
        Draining d = draining.get(e.runid());
        d.inFlight().remove(e.taskid());
        // Its partition held the task until now: only now may another run's task go there.
        dispatcher.release(e.taskid());
        if (d.inFlight().isEmpty()) {
          drained(d);
        }
      } else if (e.runid() != null && finished.containsKey(e.runid()) && EventTypes.TASK_COMPLETED.equals(e.type())) {
        removeLate(finished.get(e.runid()), e.dataAs(Payloads.TaskCompleted.class));
      }
    } catch (Exception ex) {
      LOG.warn("ignoring unreadable record on {}-{}@{}: {}", record.topic(), record.partition(), record.offset(),
          ex.toString());
    }
  }

  private void onEvent(BackupRun run, CloudEvent e) {
    BackupRun.TaskState t = e.taskid() == null ? null : run.task(e.taskid());
    if (t == null) {
      return;
    }
    switch (e.type()) {
      case EventTypes.TASK_STARTED -> {
        t.started();
      }
      case EventTypes.TASK_PROGRESS -> {
        Payloads.TaskProgress p = e.dataAs(Payloads.TaskProgress.class);
        t.progress(p.rows(), p.rawBytes(), p.bytes());
      }
      case EventTypes.TASK_COMPLETED -> {
        Payloads.TaskCompleted c = e.dataAs(Payloads.TaskCompleted.class);
        // An older attempt's completion must not free the partition the current attempt holds.
        if (c.attempt() >= t.task().header().attempt()) {
          dispatcher.release(e.taskid());
        }
        // At-least-once delivery: a redelivered task reports again; its artifact is the same object, keep one.
        if (t.status() != BackupRun.Status.COMPLETED) {
          t.completed(c.artifact(), c.files());
          if (run.allCompleted()) {
            finish(run);
          }
        }
        pump();
      }
      case EventTypes.TASK_FAILED -> {
        Payloads.TaskFailed f = e.dataAs(Payloads.TaskFailed.class);
        if (t.status() == BackupRun.Status.COMPLETED || f.attempt() < t.task().header().attempt()) {
          return; // done already, or an older attempt's report: the newer attempt holds the partition and decides
        }
        retryOrFail(run, t, f.retryable(), f.reason(), f.category());
        pump();
      }
      default -> { }
    }
  }

  /**
   * The current attempt of a task ended without completing: its partition is free again, and the task is queued
   * as a new attempt while the failure is retryable and attempts remain, or else the run fails with the reason.
   */
  /** The wait before a failed task's next attempt: doubling from the first, at most the max. */
  static final long RETRY_FIRST_DELAY_MS = 1000;
  static final long RETRY_MAX_DELAY_MS = 30_000;

  /** What a worker's failure says when the run's exported snapshot no longer exists (see worker Failures). */
  static final String SNAPSHOT_GONE = "the run's snapshot no longer exists";

  private void retryOrFail(BackupRun run, BackupRun.TaskState t, boolean retryable, String reason,
      String category) {
    int attempt = t.task().header().attempt();
    dispatcher.release(t.task().header().taskId());
    if (reason != null && (reason.contains(SNAPSHOT_GONE) || reason.contains("invalid snapshot identifier"))) {
      // The snapshot holder's session ended (terminated, the server restarted, a network cut): no task of this run
      // can start any more. The run fails as retryable, so a fleet coordinator runs it again with a new snapshot.
      fail(run, "the run's snapshot holder was lost (its session on the server ended), so " + t.task().describe()
          + " could not import the snapshot; the run needs a new snapshot", t.task().header().taskId(), true,
          io.pgfleet.common.event.Payloads.BackupFailed.DATABASE);
      return;
    }
    if (retryable && attempt < options.maxAttempts()) {
      // Backoff: what failed (a server out of connections, a storage hiccup) gets a moment before the next try.
      long delay = Math.min(RETRY_MAX_DELAY_MS, RETRY_FIRST_DELAY_MS << Math.min(attempt - 1, 10));
      LOG.warn("run {}: {} failed (attempt {}), retrying in {} ms: {}", run.plan().runId(), t.task().describe(),
          attempt, delay, reason);
      run.retry(t, attempt + 1, System.currentTimeMillis() + delay);
    } else {
      fail(run, t.task().describe() + " failed" + (retryable ? " after " + attempt + " attempts" : "") + ": "
          + reason, t.task().header().taskId(), false, category);
    }
  }

  /**
   * Publishes pending tasks while workers have free slots. Clusters take turns, one task each (so a cluster with
   * many runs does not crowd out the others), each within its task limit counting what is published, running or
   * still draining from a failed run; within a cluster the earliest run goes first, so its snapshot is released
   * as soon as possible.
   */
  private void pump() {
    Map<String, List<BackupRun>> byCluster = new java.util.LinkedHashMap<>();
    for (BackupRun run : runs.values()) {
      if (!run.ended() && run.hasPending()) {
        byCluster.computeIfAbsent(run.plan().cluster(), k -> new ArrayList<>()).add(run);
      }
    }
    if (byCluster.isEmpty()) {
      return;
    }
    List<String> order = new ArrayList<>(byCluster.keySet());
    java.util.Collections.rotate(order, -(pumpTurn++ % order.size()));
    Map<String, Integer> inFlight = new HashMap<>();
    order.forEach(c -> inFlight.put(c, tasksInFlight(c)));
    boolean published = true;
    while (published) {
      published = false;
      for (String cluster : order) {
        if (inFlight.get(cluster) >= options.clusterTaskLimit().applyAsInt(cluster)) {
          continue;
        }
        BackupRun run = byCluster.get(cluster).stream().filter(r -> !r.ended() && r.hasPending()).findFirst()
            .orElse(null);
        if (run == null) {
          continue;
        }
        var partition = dispatcher.pickPartition();
        if (partition.isEmpty()) {
          return;
        }
        Task task = run.nextToPublish();
        dispatcher.publish(task, partition.get()).onFailure(err -> fail(run,
            "cannot publish " + task.describe() + " to Kafka topic " + Topics.TASKS + ": " + err.getMessage(),
            null, false, Payloads.BackupFailed.COORDINATOR));
        inFlight.merge(cluster, 1, Integer::sum);
        published = true;
      }
    }
  }

  /** Tasks of a cluster published or running: of active runs, and of failed runs still draining. */
  public int tasksInFlight(String cluster) {
    int n = 0;
    for (BackupRun run : runs.values()) {
      if (run.plan().cluster().equals(cluster)) {
        for (BackupRun.TaskState t : run.tasks()) {
          if (t.status() == BackupRun.Status.PUBLISHED || t.status() == BackupRun.Status.STARTED) {
            n++;
          }
        }
      }
    }
    for (Draining d : draining.values()) {
      if (d.run().plan().cluster().equals(cluster)) {
        n += d.inFlight().size();
      }
    }
    return n;
  }

  /** Called on the coordinator's context with every run once it is planned and about to publish its tasks. */
  public void onRunPlanned(Consumer<BackupRun> listener) {
    this.runListener = listener;
  }

  /** The runs in flight (context-confined: call on the coordinator's context). */
  public List<BackupRun> activeRuns() {
    return List.copyOf(runs.values());
  }

  /** Free task slots (plus prefetch) of the workers heard from recently. */
  public int freeSlots() {
    return dispatcher == null ? 0 : dispatcher.freeSlots();
  }

  /** Slots of live workers with nothing running or queued on them. */
  public int idleSlots() {
    return dispatcher == null ? 0 : dispatcher.idleSlots();
  }

  /** Workers heard from recently. */
  public int liveWorkers() {
    return dispatcher == null ? 0 : dispatcher.liveWorkers().size();
  }

  /** Tasks of active runs waiting to be published, over all clusters not at their task limit. */
  public int backlog() {
    int n = 0;
    for (BackupRun run : runs.values()) {
      if (!run.ended() && tasksInFlight(run.plan().cluster())
          < options.clusterTaskLimit().applyAsInt(run.plan().cluster())) {
        n += run.pendingCount();
      }
    }
    return n;
  }

  private void tick() {
    long now = System.currentTimeMillis();
    for (Draining d : new ArrayList<>(draining.values())) {
      if (now > d.deadline()) {
        drained(d);
      }
    }
    for (BackupRun run : new ArrayList<>(runs.values())) {
      if (run.ended()) {
        continue;
      }
      for (BackupRun.TaskState t : run.tasks()) {
        if (t.status() == BackupRun.Status.PUBLISHED && dispatcher.queuedBehindBusyWorker(t.task().header().taskId())) {
          t.stillQueued(now);
        }
        if (t.status() == BackupRun.Status.PUBLISHED
            && now - t.publishedAt() > options.startTimeout().toMillis()) {
          fail(run, t.task().describe() + " was not started by any worker within "
              + options.startTimeout().toSeconds() + " s: are workers running and consuming " + Topics.TASKS + "?",
              null, true, Payloads.BackupFailed.WORKER);
          break;
        }
        if (t.status() == BackupRun.Status.STARTED && now - t.lastHeardAt() > options.silenceTimeout().toMillis()) {
          retryOrFail(run, t, true, "its worker went silent for " + options.silenceTimeout().toSeconds()
              + " s (worker lost?)", Payloads.BackupFailed.WORKER);
          if (run.ended()) {
            break;
          }
        }
      }
      if (run.ended()) {
        continue;
      }
      if (!run.anyStarted() && now - run.startedAt().toEpochMilli() > options.startTimeout().toMillis()
          && run.tasks().stream().noneMatch(t -> t.status() == BackupRun.Status.PUBLISHED
              && dispatcher.queuedBehindBusyWorker(t.task().header().taskId()))) {
        // The snapshot has been held all this time for nothing: release it and let a new run try later.
        fail(run, "no task of the run started within " + options.startTimeout().toSeconds()
            + " s of its snapshot (workers busy or unreachable); the snapshot was released", null, true,
            Payloads.BackupFailed.WORKER);
        continue;
      }
      if (run.hasPending() && dispatcher.freeSlots() == 0 && dispatcher.liveWorkers().isEmpty()) {
        long since = run.waitingSince(now);
        if (now - since > options.startTimeout().toMillis()) {
          fail(run, "no pgfleet worker has been seen for " + options.startTimeout().toSeconds()
              + " s: start workers (they announce themselves on " + Topics.WORKERS + ")", null, true,
              Payloads.BackupFailed.WORKER);
          continue;
        }
      } else {
        run.stopWaiting();
      }
      report(run);
    }
    pump();
  }

  private void finish(BackupRun run) {
    BackupPlan plan = run.plan();
    List<ArtifactEntry> data = new ArrayList<>();
    ArtifactEntry schema = null;
    ArtifactEntry globals = null;
    Manifest.Archive archive = null;
    for (BackupRun.TaskState t : run.tasks()) {
      if (t.task() instanceof TableDataTask) {
        data.add(t.artifact());
      } else if (t.task() instanceof GlobalsTask) {
        globals = t.artifact();
      } else if (t.task() instanceof ArchiveTask a) {
        archive = new Manifest.Archive(a.format(), a.jobs(), a.args(), t.artifact().key(), List.copyOf(t.files()));
      } else {
        schema = t.artifact();
      }
    }
    data.sort(Comparator.comparing(ArtifactEntry::key));
    ArtifactEntry schemaArtifact = schema;
    ArtifactEntry globalsArtifact = globals;
    Manifest.Archive archiveArtifacts = archive;
    run.end();
    report(run);
    vertx.executeBlocking(() -> {
      Instant finished = Instant.now();
      String guideKey = RepositoryLayout.RESTORE_GUIDE;
      Manifest draft = manifest(plan, run, finished, schemaArtifact, globalsArtifact, data, guideKey, null,
          archiveArtifacts);
      byte[] guide = (draft.encrypted() ? RestoreGuide.renderEncrypted(draft)
          : archiveArtifacts != null ? RestoreGuide.renderArchive(draft)
          : RestoreGuide.render(draft, data, schemaArtifact)).getBytes(StandardCharsets.UTF_8);
      String guideSha;
      try (ObjectWriter w = storage.create(draft.objectKey(guideKey)); Sha256Counter sha = new Sha256Counter(w)) {
        sha.write(guide);
        sha.flush();
        guideSha = sha.sha256();
        w.commit();
      }
      Manifest m = manifest(plan, run, finished, schemaArtifact, globalsArtifact, data, guideKey, guideSha,
          archiveArtifacts);
      String key = RepositoryLayout.manifestKey(plan.cluster(), plan.database(), plan.backupId());
      // An encrypted backup's manifest keeps what describes the client's data in its sealed part only; the run
      // goes on with the full manifest (events, restore tests), which never leaves this process.
      Manifest stored = m.encrypted() ? ManifestSeal.seal(m, ArtifactCipher.forBackup(m.encryption(),
          options.encryptionKey(), "backup " + plan.backupId())) : m;
      if (!storage.createIfAbsent(key, Json.writePretty(stored))) {
        throw new IllegalStateException("manifest " + key + " already exists: another writer committed backup "
            + plan.backupId());
      }
      run.holder().close();
      sweep(m);
      return new BackupOutcome(m, key);
    }, false).onComplete(ar -> {
      runs.remove(plan.runId());
      if (ar.succeeded()) {
        Manifest m = ar.result().manifest();
        Set<String> keep = new HashSet<>();
        keep.add(m.objectKey(RepositoryLayout.MANIFEST));
        keep.add(m.objectKey(m.restoreGuideKey()));
        m.artifacts().forEach(a -> keep.add(m.objectKey(a.key())));
        finished.put(plan.runId(), new Finished(RepositoryLayout.backupPrefix(plan.cluster(), plan.database(),
            plan.backupId()), keep));
        LOG.info("run {}: backup {} complete: {} tables, {} rows, {} bytes", plan.runId(), plan.backupId(),
            m.tableCount(), m.totalRows(), m.totalBytes());
        events.publish(EventTypes.BACKUP_COMPLETED, plan.cluster(), plan.database(), plan.runId(), plan.backupId(),
            null, new Payloads.BackupCompleted(plan.backupId(), ar.result().manifestKey(), (int) m.tableCount(),
                m.totalRows(), m.totalBytes(), Duration.between(m.startedAt(), m.finishedAt()).toMillis()))
            .onComplete(x -> run.promise().complete(ar.result()));
      } else {
        endFailed(run, "cannot write the manifest of backup " + plan.backupId() + " to " + storage.describe() + ": "
            + message(ar.cause()), Payloads.BackupFailed.STORAGE);
      }
    });
  }

  /** Deletes what a task of an ended run committed after the end, unless the manifest names it. */
  private void removeLate(Finished f, Payloads.TaskCompleted c) {
    List<String> keys = new ArrayList<>();
    if (c.files() != null) {
      c.files().forEach(a -> keys.add(f.prefix() + a.key()));
    } else if (c.artifact() != null) {
      keys.add(f.prefix() + c.artifact().key());
    }
    vertx.executeBlocking(() -> {
      boolean committed = f.keep() == null && storage.stat(f.prefix() + RepositoryLayout.MANIFEST).isPresent();
      for (String k : keys) {
        if (f.keep() != null ? !f.keep().contains(k) : !committed) {
          LOG.info("removing {}: written by a duplicate execution after its run ended", k);
          storage.delete(k);
        }
      }
      return null;
    }, false).onFailure(err -> LOG.warn("cannot remove late objects {}: {}", keys, err.toString()));
  }

  /** Removes what duplicate or failed executions left in the backup's folder: objects the manifest does not name. */
  private void sweep(Manifest m) {
    Set<String> keep = new HashSet<>();
    keep.add(m.objectKey(RepositoryLayout.MANIFEST));
    keep.add(m.objectKey(m.restoreGuideKey()));
    m.artifacts().forEach(a -> keep.add(m.objectKey(a.key())));
    try {
      String prefix = RepositoryLayout.backupPrefix(m.cluster(), m.database(), m.backupId());
      for (ObjectInfo o : storage.list(prefix)) {
        if (!keep.contains(o.key())) {
          storage.delete(o.key());
        }
      }
      storage.removeIncomplete(prefix);
    } catch (Exception e) {
      LOG.warn("backup {}: could not remove leftovers of duplicate executions: {}", m.backupId(), e.toString());
    }
  }

  private Manifest manifest(BackupPlan plan, BackupRun run, Instant finished, ArtifactEntry schema,
      ArtifactEntry globals, List<ArtifactEntry> data, String guideKey, String guideSha, Manifest.Archive archive) {
    return new Manifest(Manifest.FORMAT_VERSION, plan.backupId(), plan.runId(), plan.cluster(), plan.database(),
        plan.source(), run.startedAt(), finished, options.pgfleetVersion(),
        archive != null ? List.of() : io.pgfleet.common.pg.Catalog.COPY_SESSION_SETTINGS, schema, globals, data,
        guideKey, guideSha, archive, plan.tasks().get(0).header().encryption(), plan.selection(), null);
  }


  /** @param endedTaskId the task whose end failed the run: it has reported (or gone silent), nothing to wait for */
  private void fail(BackupRun run, String reason, String endedTaskId, boolean retryable, String category) {
    if (run.ended()) {
      return;
    }
    run.end();
    // Tasks already published or running go on and may still commit objects (a short one, such as the globals,
    // often right after another task failed): wait briefly for them, so the cleanup removes those objects too.
    Set<String> inFlight = new HashSet<>();
    for (BackupRun.TaskState t : run.tasks()) {
      if (t.status() == BackupRun.Status.STARTED || t.status() == BackupRun.Status.PUBLISHED) {
        inFlight.add(t.task().header().taskId());
      }
    }
    inFlight.remove(endedTaskId);
    // Partitions whose task is still published or running stay held until it reports or the drain ends.
    run.tasks().stream().map(t -> t.task().header().taskId()).filter(id -> !inFlight.contains(id))
        .forEach(dispatcher::release);
    runs.remove(run.plan().runId());
    if (inFlight.isEmpty()) {
      endFailed(run, reason, category, retryable);
    } else {
      draining.put(run.plan().runId(),
          new Draining(run, reason, category, retryable, inFlight, System.currentTimeMillis() + DRAIN_MILLIS));
    }
  }

  private void drained(Draining d) {
    d.inFlight().forEach(dispatcher::release);
    if (draining.remove(d.run().plan().runId()) != null) {
      endFailed(d.run(), d.reason(), d.category(), d.retryable());
    }
  }

  /** Releases the snapshot, removes the run's objects (no manifest was written: they are no backup), reports. */
  private void endFailed(BackupRun run, String reason, String category) {
    endFailed(run, reason, category, false);
  }

  /** @param category see {@link Payloads.BackupFailed#category()} */
  private void endFailed(BackupRun run, String reason, String category, boolean retryable) {
    BackupPlan plan = run.plan();
    LOG.error("run {}: backup {} of {}/{} failed: {}", plan.runId(), plan.backupId(), plan.cluster(),
        plan.database(), reason);
    vertx.executeBlocking(() -> {
      run.holder().close();
      removeUnfinished(plan);
      return null;
    }, false).onComplete(x -> {
      finished.put(plan.runId(), new Finished(RepositoryLayout.backupPrefix(plan.cluster(), plan.database(),
          plan.backupId()), null));
      if (x.failed()) {
        // Typically the repository is what failed the run (its circuit is open): the objects the run committed
        // before the outage are removed once it answers again, so a failed run leaves nothing behind.
        retryCleanup(plan, 1, x.cause());
      }
      events.publish(EventTypes.BACKUP_FAILED, plan.cluster(), plan.database(), plan.runId(), plan.backupId(), null,
          new Payloads.BackupFailed(plan.backupId(), reason, category))
          .onComplete(y -> run.promise().tryFail(new BackupFailedException(reason, retryable)));
    });
  }

  /** Removes a failed run's objects, unless a manifest made them a backup. */
  private void removeUnfinished(BackupPlan plan) throws java.io.IOException {
    String prefix = RepositoryLayout.backupPrefix(plan.cluster(), plan.database(), plan.backupId());
    if (storage.stat(prefix + RepositoryLayout.MANIFEST).isPresent()) {
      // A manifest is there (written by this run before a later step failed, or by another writer): its
      // objects belong to a backup and stay.
      return;
    }
    for (ObjectInfo o : storage.list(prefix)) {
      if (!o.key().endsWith("/" + RepositoryLayout.MANIFEST)) {
        storage.delete(o.key());
      }
    }
    storage.removeIncomplete(prefix);
  }

  /**
   * Tries the cleanup of a failed run again later, until it succeeds: its repository may be unavailable for a while
   * (an open circuit). Only in this coordinator's memory: one that stops meanwhile leaves the objects behind.
   */
  private void retryCleanup(BackupPlan plan, int attempt, Throwable last) {
    if (attempt >= CLEANUP_ATTEMPTS) {
      LOG.error("run {}: giving up removing the objects of failed backup {} after {} attempts ({}); they stay"
          + " under {} until removed by hand", plan.runId(), plan.backupId(), attempt, last.toString(),
          RepositoryLayout.backupPrefix(plan.cluster(), plan.database(), plan.backupId()));
      return;
    }
    long delay = Math.min(CLEANUP_MAX_DELAY_MS, CLEANUP_FIRST_DELAY_MS << Math.min(attempt - 1, 10));
    LOG.warn("run {}: cleanup after failure incomplete, trying again in {} s: {}", plan.runId(), delay / 1000,
        last.toString());
    vertx.setTimer(delay, id -> vertx.executeBlocking(() -> {
      removeUnfinished(plan);
      return null;
    }, false).onComplete(x -> {
      if (x.failed()) {
        retryCleanup(plan, attempt + 1, x.cause());
      } else {
        LOG.info("run {}: objects of failed backup {} removed", plan.runId(), plan.backupId());
      }
    }));
  }

  private static void report(BackupRun run) {
    try {
      run.reportProgress();
    } catch (RuntimeException e) {
      LOG.warn("progress listener failed: {}", e.toString());
    }
  }

  /** Stops reading and publishing; runs still active fail with a clear reason. */
  public Future<Void> stop() {
    Promise<Void> done = Promise.promise();
    if (context == null) {
      return Future.succeededFuture();
    }
    context.runOnContext(v -> {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      for (BackupRun r : new ArrayList<>(runs.values())) {
        fail(r, "the coordinator stopped before the run ended", null, false, Payloads.BackupFailed.COORDINATOR);
      }
      new ArrayList<>(draining.values()).forEach(this::drained);
      Future<Void> c = consumer == null ? Future.succeededFuture() : consumer.close();
      c.eventually(() -> producer.close()).onComplete(x -> done.complete());
    });
    return done.future();
  }
}
