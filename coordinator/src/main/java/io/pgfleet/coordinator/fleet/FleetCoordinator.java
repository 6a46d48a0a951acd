package io.pgfleet.coordinator.fleet;

import io.pgfleet.common.config.CronSchedule;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.repository.BackupCatalog;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.task.TableDataTask;
import io.pgfleet.coordinator.BackupCoordinator;
import io.pgfleet.coordinator.alerting.Alerting;
import io.pgfleet.coordinator.alerting.ScheduledDatabases;
import io.pgfleet.coordinator.api.FleetApi;
import io.pgfleet.coordinator.plan.BackupPlanner;
import io.pgfleet.coordinator.restoretest.RestoreTestExecutor;
import io.pgfleet.coordinator.restoretest.RestoreTestScheduler;
import io.pgfleet.coordinator.run.BackupFailedException;
import io.pgfleet.coordinator.run.BackupOutcome;
import io.pgfleet.coordinator.run.BackupRun;
import io.pgfleet.coordinator.run.RunProgress;
import io.pgfleet.coordinator.retention.RetentionReaction;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.kafka.client.producer.KafkaProducer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-running coordinator of a fleet: schedules waves per cluster, discovers each cluster's databases at every
 * wave, admits runs as worker capacity and per-cluster limits allow (clusters take turns, so one tenant with 500
 * databases does not starve the others), retries runs that could not start, and answers the HTTP API.
 *
 * <p>Several may run; only the leader (see {@link LeaderElection}) schedules and runs backups. On becoming leader
 * it reads the backup history back from the repository and the events topic, and ends explicitly every run a
 * previous leader left open: a run whose manifest exists is reported completed, any other is reported failed, its
 * objects removed, and the database queued again. All state is confined to one Vert.x context.
 */
public final class FleetCoordinator implements FleetApi, ScheduledDatabases {
  private static final Logger LOG = LoggerFactory.getLogger(FleetCoordinator.class);
  private static final int KEEP_FINISHED_RUNS = 1000;
  private static final int KEEP_RESTORE_JOBS = 100;

  /**
   * @param instanceId this coordinator's name in logs, the election group and event sources
   * @param silenceTimeout how long a running task may go unheard before it is published again
   * @param leaderSessionTimeout how long a dead leader keeps the lead before another coordinator takes over
   * @param historyWindow how far back the events topic is read when becoming leader
   * @param restoreJobs how many API restores run at once
   */
  public record Settings(String instanceId, String pgfleetVersion, Duration silenceTimeout,
      Duration leaderSessionTimeout, Duration historyWindow, BackupPlanner.PlanOptions plan, MasterKey encryptionKey,
      int restoreJobs) {
    public static Settings defaults(String version) {
      return new Settings(defaultInstanceId(), version, Duration.ofSeconds(90), Duration.ofSeconds(20),
          Duration.ofDays(2), BackupPlanner.PlanOptions.defaults(), null, 2);
    }

    public Settings withInstanceId(String id) {
      return new Settings(id, pgfleetVersion, silenceTimeout, leaderSessionTimeout, historyWindow, plan,
          encryptionKey, restoreJobs);
    }

    public Settings withTimeouts(Duration silence, Duration leaderSession) {
      return new Settings(instanceId, pgfleetVersion, silence, leaderSession, historyWindow, plan, encryptionKey,
          restoreJobs);
    }

    public Settings withEncryption(MasterKey key) {
      return new Settings(instanceId, pgfleetVersion, silenceTimeout, leaderSessionTimeout, historyWindow, plan,
          key, restoreJobs);
    }

    static String defaultInstanceId() {
      String host;
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (Exception e) {
        host = "coordinator";
      }
      return host.replaceAll("[^A-Za-z0-9_.-]", "-") + "-" + UUID.randomUUID().toString().substring(0, 6);
    }
  }

  private enum State { QUEUED, RUNNING, COMPLETED, FAILED }

  /** One run as the fleet sees it, from the moment it is queued; mutable, context-confined. */
  private static final class RunRecord {
    final String runId;
    final String cluster;
    final String database;
    final String trigger;
    final int attempt;
    final Instant queuedAt = Instant.now();
    Instant startedAt;
    Instant endedAt;
    State state = State.QUEUED;
    String reason;
    String backupId;
    BackupRun run;
    Progress progress;
    List<TaskView> tasks = List.of();

    RunRecord(String cluster, String database, String trigger, int attempt) {
      this(UUID.randomUUID().toString(), cluster, database, trigger, attempt);
    }

    RunRecord(String runId, String cluster, String database, String trigger, int attempt) {
      this.runId = runId;
      this.cluster = cluster;
      this.database = database;
      this.trigger = trigger;
      this.attempt = attempt;
    }

    String key() {
      return cluster + "/" + database;
    }
  }

  private static final class ClusterState {
    final FleetConfig.Cluster config;
    final CronSchedule cron;
    final Deque<RunRecord> queue = new ArrayDeque<>();
    final TreeSet<String> databases = new TreeSet<>();
    Instant nextWaveAt;
    Instant discoveredAt;
    String discoveryError;

    ClusterState(FleetConfig.Cluster config) {
      this.config = config;
      this.cron = config.schedule() == null ? null
          : CronSchedule.parse(config.schedule().cron(), config.schedule().timeZone());
    }
  }

  private final Vertx vertx;
  private final KafkaSettings kafka;
  private final Storage storage;
  private final FleetConfig config;
  private final ClusterDirectory directory;
  private final RestoreExecutor restorer;
  private final RestoreTestExecutor restoreTester;
  private final Settings settings;
  private final Map<String, ClusterState> clusters = new LinkedHashMap<>();
  private final Map<String, RunRecord> runs = new LinkedHashMap<>();
  private final Map<String, RunRecord> lastRun = new HashMap<>();
  private final Map<String, BackupView> lastBackup = new HashMap<>();
  private final Map<String, RestoreJobView> restoreJobs = new LinkedHashMap<>();
  private final RetentionReaction retention;
  private Context context;
  private KafkaProducer<String, String> producer;
  private EventPublisher events;
  private LeaderElection election;
  private BackupCoordinator backups;
  private Alerting alerting;
  private WorkerExecutor restoreExecutor;
  /** Null when the configuration has no restoreTests. */
  private RestoreTestScheduler restoreTests;
  private String role = "starting";
  private boolean ready;
  private long timer = -1;
  private int clusterTurn;
  private final FleetMetrics metrics = FleetMetrics.get();
  private int depthTicks;
  private org.apache.kafka.clients.admin.Admin admin;
  private boolean measuringDepth;
  /** Bumped at every change of leadership: work started under an older term must not act under a newer one. */
  private int term;

  public FleetCoordinator(Vertx vertx, KafkaSettings kafka, Storage storage, FleetConfig config,
      ClusterDirectory directory, RestoreExecutor restorer, Settings settings) {
    this(vertx, kafka, storage, config, directory, restorer, null, settings);
  }

  /** @param restoreTester runs the restore tests {@code config.restoreTests()} asks for; null runs none */
  public FleetCoordinator(Vertx vertx, KafkaSettings kafka, Storage storage, FleetConfig config,
      ClusterDirectory directory, RestoreExecutor restorer, RestoreTestExecutor restoreTester, Settings settings) {
    this.restoreTester = restoreTester;
    this.vertx = vertx;
    this.kafka = kafka;
    this.storage = storage;
    this.config = config;
    this.directory = directory;
    this.restorer = restorer;
    this.settings = settings;
    config.clusters().forEach(c -> clusters.put(c.name(), new ClusterState(c)));
    this.retention = new RetentionReaction(vertx, storage, config.retention(), () -> events,
        d -> context.runOnContext(v -> lastBackup.computeIfPresent(d.cluster() + "/" + d.database(),
            (k, b) -> b.backupId().equals(d.backupId()) ? null : b)));
  }

  public String instanceId() {
    return settings.instanceId();
  }

  /**
   * Reads the backup history from the repository, joins the leader election, and starts ticking. Completes when
   * this coordinator is ready to answer (as leader or standby).
   */
  public Future<Void> start() {
    Promise<Void> started = Promise.promise();
    Context ctx = vertx.getOrCreateContext();
    ctx.runOnContext(v -> {
      context = ctx;
      producer = KafkaProducer.create(vertx, kafka.producerProperties("pgfleet-coordinator-" + instanceId()));
      events = new EventPublisher(producer, "/pgfleet/coordinator/" + instanceId());
      restoreExecutor = vertx.createSharedWorkerExecutor("pgfleet-restore-" + instanceId(),
          Math.max(1, settings.restoreJobs()), 365, TimeUnit.DAYS);
      if (config.restoreTests() != null && restoreTester != null) {
        restoreTests = new RestoreTestScheduler(vertx, storage, config.restoreTests(), restoreTester, events,
            io.micrometer.core.instrument.Metrics.globalRegistry, instanceId());
      }
      // Sealed manifests are opened where this coordinator holds their key, for the tables and rows of the API's
      // views; one under another key still lists, with its times and sizes.
      vertx.executeBlocking(() -> new BackupCatalog(storage).list().stream()
          .map(m -> ManifestSeal.openIfPossible(m, settings.encryptionKey())).toList(), false).compose(manifests -> {
        Map<String, Manifest> newest = new HashMap<>();
        for (Manifest m : manifests) {
          lastBackup.merge(m.cluster() + "/" + m.database(), view(m),
              (a, b) -> a.backupId().compareTo(b.backupId()) >= 0 ? a : b);
          newest.merge(m.cluster() + "/" + m.database(), m,
              (a, b) -> a.backupId().compareTo(b.backupId()) >= 0 ? a : b);
        }
        newest.values().forEach(metrics::backupCompleted);
        LOG.info("coordinator {}: {} backups of {} databases in {}", instanceId(), manifests.size(),
            lastBackup.size(), storage.describe());
        election = new LeaderElection(vertx, kafka, instanceId(), settings.leaderSessionTimeout());
        return election.start(this::onLeadership);
      }).onSuccess(x -> {
        role = "standby";
        ready = true;
        timer = vertx.setPeriodic(1000, id -> tick());
        started.complete();
      }).onFailure(started::fail);
    });
    return started.future();
  }

  /** Leaves the election (another coordinator takes over at once) and fails the runs in flight explicitly. */
  public Future<Void> stop() {
    if (context == null) {
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      ready = false;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      Future<Void> b = stepDown("the coordinator stopped before the run was admitted");
      b.eventually(() -> election == null ? Future.succeededFuture() : election.stop())
          .eventually(() -> restoreExecutor.close())
          .eventually(() -> {
            if (restoreTests != null) {
              restoreTests.close();
            }
            return Future.succeededFuture();
          })
          .eventually(() -> producer.close())
          .eventually(() -> admin == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
            admin.close(java.time.Duration.ofSeconds(5));
            return null;
          }, false))
          .onComplete(x -> done.complete());
    });
    return done.future();
  }

  // ---- leadership ----

  private void onLeadership(boolean leader) {
    term++;
    if (leader) {
      role = "leader (taking over)";
      becomeLeader(term);
    } else {
      role = "standby";
      stepDown("this coordinator lost the leadership before the run was admitted; the new leader schedules");
    }
  }

  private void becomeLeader(int myTerm) {
    vertx.executeBlocking(() -> EventHistory.replay(kafka, settings.historyWindow()), false).compose(history -> {
      if (myTerm != term) {
        return Future.succeededFuture();
      }
      if (restoreTests != null) {
        restoreTests.rebuild(history.restoreTestsPassed()).onFailure(e -> LOG.warn(
            "coordinator {}: cannot read the restore tests back from the repository: {}", instanceId(), e.toString()));
      }
      List<EventHistory.RunTrace> open = new ArrayList<>();
      Map<String, EventHistory.RunTrace> lastEnded = new HashMap<>();
      for (EventHistory.RunTrace t : history.runs()) {
        if (t.open()) {
          open.add(t);
        } else {
          lastEnded.merge(t.databaseKey(), t, (a, b) -> b.endedAt().isAfter(a.endedAt()) ? b : a);
          RunRecord r = new RunRecord(t.runId(), t.cluster(), t.database(), "history", 1);
          r.state = EventTypes.BACKUP_COMPLETED.equals(t.endType()) ? State.COMPLETED : State.FAILED;
          r.startedAt = t.startedAt();
          r.endedAt = t.endedAt();
          r.reason = t.reason();
          r.backupId = t.backupId();
          lastRun.put(r.key(), r);
        }
      }
      backups = new BackupCoordinator(vertx, kafka, storage, directory,
          BackupCoordinator.Options.defaults(settings.pgfleetVersion()).withPlan(settings.plan())
              .withEncryption(settings.encryptionKey())
              .withTimeouts(config.coordinator().startTimeout(), settings.silenceTimeout())
              .withClusterTaskLimit(c -> Optional.ofNullable(clusters.get(c))
                  .map(s -> s.config.limits().maxTasks()).orElse(Integer.MAX_VALUE)));
      backups.onRunPlanned(run -> {
        RunRecord r = runs.get(run.plan().runId());
        if (r != null) {
          r.run = run;
          r.backupId = run.plan().backupId();
        }
      });
      return backups.start().onSuccess(x -> {
        role = "leader";
        startAlerting();
        Instant now = Instant.now();
        clusters.values().forEach(c -> c.nextWaveAt = c.cron == null ? null : c.cron.nextAfter(now).orElse(null));
        for (EventHistory.RunTrace t : open) {
          if (t.startedAt() != null) {
            recoverOpenRun(t, myTerm);
          } else if (clusters.containsKey(t.cluster()) && !queuedOrRunning(t.cluster(), t.database())) {
            // Queued by the previous leader and never started: nothing of it exists; it simply runs now.
            RunRecord r = new RunRecord(t.runId(), t.cluster(), t.database(),
                t.scheduled() == null ? "recovery" : t.scheduled().trigger(),
                t.scheduled() == null ? 1 : t.scheduled().attempt());
            remember(r);
            lastRun.put(r.key(), r);
            clusters.get(r.cluster).queue.addLast(r);
          }
        }
        // A database whose last run a coordinator failed on its way out (stopped, lost the lead, could not publish)
        // is owed a backup: queued again now rather than at the next wave.
        Set<String> openKeys = new HashSet<>();
        open.forEach(t -> openKeys.add(t.databaseKey()));
        for (EventHistory.RunTrace t : lastEnded.values()) {
          if (EventTypes.BACKUP_FAILED.equals(t.endType())
              && Payloads.BackupFailed.COORDINATOR.equals(t.category()) && !openKeys.contains(t.databaseKey())
              && clusters.containsKey(t.cluster()) && !queuedOrRunning(t.cluster(), t.database())) {
            LOG.info("{}: its last run {} ended with the coordinator ({}); queued again", t.databaseKey(), t.runId(),
                t.reason());
            enqueue(new RunRecord(t.cluster(), t.database(), "recovery", 1), false);
          }
        }
        LOG.info("coordinator {} leads: {} cluster(s), {} run(s) left open by a previous leader", instanceId(),
            clusters.size(), open.size());
      });
    }).onFailure(e -> {
      LOG.error("coordinator {}: cannot take over as leader: {}; stepping down", instanceId(), e.toString());
      role = "standby (take-over failed: " + e.getMessage() + ")";
      // Leave and rejoin the election, so another coordinator can lead meanwhile.
      election.stop().onComplete(x -> {
        election = new LeaderElection(vertx, kafka, instanceId(), settings.leaderSessionTimeout());
        vertx.setTimer(5000, id -> election.start(this::onLeadership));
      });
    });
  }

  /** Fails what is queued here and stops the backup coordinator, which fails its runs explicitly. */
  private Future<Void> stepDown(String queuedReason) {
    for (ClusterState c : clusters.values()) {
      for (RunRecord r : c.queue) {
        end(r, State.FAILED, queuedReason);
      }
      c.queue.clear();
      c.nextWaveAt = null;
    }
    if (alerting != null) {
      alerting.stop();
      alerting = null;
    }
    BackupCoordinator b = backups;
    backups = null;
    return b == null ? Future.succeededFuture() : b.stop();
  }

  /** Alerts to webhooks while this coordinator leads; a new leader starts with no alert firing (docs/alerting.md). */
  private void startAlerting() {
    if (config.alerts() == null || config.alerts().webhooks().isEmpty()) {
      return;
    }
    Alerting a = new Alerting(vertx, kafka, config.alerts(), this, events);
    alerting = a;
    a.start().onFailure(e -> LOG.error("coordinator {}: alerting did not start: {}", instanceId(), e.toString()));
  }

  @Override
  public List<ScheduledDatabase> scheduledDatabases() {
    List<ScheduledDatabase> out = new ArrayList<>();
    for (ClusterState c : clusters.values()) {
      if (c.cron == null) {
        continue;
      }
      for (String db : databaseNames(c.config.name())) {
        BackupView last = lastBackup.get(c.config.name() + "/" + db);
        out.add(new ScheduledDatabase(c.config.name(), db, c.cron, last == null ? null : last.finishedAt()));
      }
    }
    return out;
  }

  /**
   * A run a previous leader started and never ended: its snapshot died with that leader. If its manifest was
   * committed the backup exists and is reported completed; otherwise it is reported failed, its objects removed
   * (again after the silence timeout, for tasks that were still running on workers) and the database queued.
   */
  private void recoverOpenRun(EventHistory.RunTrace t, int myTerm) {
    String prefix = RepositoryLayout.backupPrefix(t.cluster(), t.database(), t.backupId());
    vertx.executeBlocking(() -> {
      Optional<ObjectInfo> manifest = storage.stat(prefix + RepositoryLayout.MANIFEST);
      if (manifest.isPresent()) {
        return ManifestSeal.openIfPossible(new BackupCatalog(storage).read(prefix + RepositoryLayout.MANIFEST),
            settings.encryptionKey());
      }
      removeObjects(prefix);
      return null;
    }, false).onComplete(ar -> {
      if (myTerm != term) {
        return;
      }
      if (ar.failed()) {
        LOG.warn("run {}: cannot check or clean up {} after take-over: {}", t.runId(), prefix, ar.cause().toString());
      }
      Manifest m = ar.succeeded() ? ar.result() : null;
      if (m != null) {
        lastBackup.put(t.databaseKey(), view(m));
        metrics.backupCompleted(m);
        events.publish(EventTypes.BACKUP_COMPLETED, t.cluster(), t.database(), t.runId(), t.backupId(), null,
            new Payloads.BackupCompleted(m.backupId(), prefix + RepositoryLayout.MANIFEST, (int) m.tableCount(),
                m.totalRows(), m.totalBytes(), Duration.between(m.startedAt(), m.finishedAt()).toMillis()));
        return;
      }
      RunRecord retry = new RunRecord(t.cluster(), t.database(), "recovery", 1);
      String reason = "the coordinator running it stopped before it ended (its snapshot is gone): nothing of it"
          + " was kept" + (clusters.containsKey(t.cluster()) ? "; retried as run " + retry.runId : "");
      LOG.warn("run {} of {}/{}: {}", t.runId(), t.cluster(), t.database(), reason);
      events.publish(EventTypes.BACKUP_FAILED, t.cluster(), t.database(), t.runId(), t.backupId(), null,
          new Payloads.BackupFailed(t.backupId(), reason, Payloads.BackupFailed.COORDINATOR));
      RunRecord old = new RunRecord(t.runId(), t.cluster(), t.database(), "history", 1);
      end(old, State.FAILED, reason);
      old.backupId = t.backupId();
      old.startedAt = t.startedAt();
      if (clusters.containsKey(t.cluster())) {
        enqueue(retry, true);
      }
      vertx.setTimer(settings.silenceTimeout().toMillis() + 5000, id -> vertx.executeBlocking(() -> {
        if (storage.stat(prefix + RepositoryLayout.MANIFEST).isEmpty()) {
          removeObjects(prefix);
        }
        return null;
      }, false));
    });
  }

  private void removeObjects(String prefix) throws java.io.IOException {
    for (ObjectInfo o : storage.list(prefix)) {
      storage.delete(o.key());
    }
    storage.removeIncomplete(prefix);
  }

  // ---- scheduling and admission ----

  private void tick() {
    int inFlight = (int) runs.values().stream().filter(r -> r.state == State.RUNNING).count();
    int queued = clusters.values().stream().mapToInt(c -> c.queue.size()).sum();
    metrics.fleet(inFlight, queued, leader(), backups == null ? 0 : backups.liveWorkers(),
        backups == null ? 0 : backups.idleSlots());
    if (backups == null) {
      return;
    }
    if (++depthTicks % 10 == 1) {
      measureQueueDepth();
    }
    Instant now = Instant.now();
    retention.tick(now);
    for (ClusterState c : clusters.values()) {
      if (c.nextWaveAt != null && !now.isBefore(c.nextWaveAt)) {
        c.nextWaveAt = c.cron.nextAfter(now).orElse(null);
        wave(c, "schedule");
      }
    }
    for (RunRecord r : runs.values()) {
      if (r.state == State.RUNNING) {
        capture(r);
      }
    }
    admit();
  }

  /**
   * The task queue's depth: for every partition of the task topic, its end offset minus the workers' group's
   * committed offset (workers commit a task's offset once it ended, so tasks queued and running both count).
   */
  private void measureQueueDepth() {
    if (measuringDepth) {
      return;
    }
    measuringDepth = true;
    vertx.executeBlocking(() -> {
      if (admin == null) {
        java.util.Properties p = new java.util.Properties();
        p.putAll(kafka.clientProperties());
        admin = org.apache.kafka.clients.admin.Admin.create(p);
      }
      var committed = admin.listConsumerGroupOffsets(io.pgfleet.common.kafka.Topics.WORKER_GROUP)
          .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
      var topic = admin.describeTopics(List.of(io.pgfleet.common.kafka.Topics.TASKS)).allTopicNames()
          .get(10, TimeUnit.SECONDS).get(io.pgfleet.common.kafka.Topics.TASKS);
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> specs = new HashMap<>();
      topic.partitions().forEach(pi -> specs.put(new org.apache.kafka.common.TopicPartition(
          io.pgfleet.common.kafka.Topics.TASKS, pi.partition()), org.apache.kafka.clients.admin.OffsetSpec.latest()));
      long depth = 0;
      for (var e : admin.listOffsets(specs).all().get(10, TimeUnit.SECONDS).entrySet()) {
        var c = committed.get(e.getKey());
        depth += Math.max(0, e.getValue().offset() - (c == null ? 0 : c.offset()));
      }
      return depth;
    }, false).onComplete(ar -> {
      measuringDepth = false;
      if (ar.succeeded()) {
        metrics.queueDepth(ar.result());
      } else {
        LOG.debug("cannot measure the task queue's depth: {}", ar.cause().toString());
      }
    });
  }

  /** Lists the cluster's databases now and queues a run for each selected one not already queued or running. */
  public Future<List<String>> wave(String cluster) {
    ClusterState c = clusters.get(cluster);
    if (c == null) {
      return Future.failedFuture(new NotFound("cluster '" + cluster + "' is not configured"));
    }
    Promise<List<String>> p = Promise.promise();
    context.runOnContext(v -> wave(c, "api").onComplete(p));
    return p.future();
  }

  private Future<List<String>> wave(ClusterState c, String trigger) {
    int myTerm = term;
    return vertx.executeBlocking(() -> discover(c.config), false).transform(ar -> {
      c.discoveredAt = Instant.now();
      if (ar.failed()) {
        c.discoveryError = ar.cause().getMessage();
        LOG.error("cluster {}: cannot list its databases, wave skipped: {}", c.config.name(), c.discoveryError);
        return Future.failedFuture(ar.cause());
      }
      c.discoveryError = null;
      c.databases.clear();
      c.databases.addAll(ar.result());
      List<String> queued = new ArrayList<>();
      if (myTerm == term && backups != null) {
        for (String db : ar.result()) {
          if (c.config.databases().selects(db) && !queuedOrRunning(c.config.name(), db)) {
            enqueue(new RunRecord(c.config.name(), db, trigger, 1), false);
            queued.add(db);
          }
        }
      }
      LOG.info("cluster {}: wave ({}): {} database(s) found, {} queued", c.config.name(), trigger,
          ar.result().size(), queued.size());
      return Future.succeededFuture(queued);
    });
  }

  private List<String> discover(FleetConfig.Cluster c) throws Discovery.DiscoveryException {
    try {
      return Discovery.databases(directory.connection(c.name(), "postgres"));
    } catch (Discovery.DiscoveryException e) {
      // A cluster without a postgres database still has template1.
      try {
        return Discovery.databases(directory.connection(c.name(), "template1"));
      } catch (Discovery.DiscoveryException ignored) {
        throw e;
      }
    }
  }

  private boolean queuedOrRunning(String cluster, String database) {
    return runs.values().stream().anyMatch(r -> r.cluster.equals(cluster) && r.database.equals(database)
        && (r.state == State.QUEUED || r.state == State.RUNNING));
  }

  /** Queues a run and says so on the event stream, so a leader taking over knows it is owed. */
  private void enqueue(RunRecord r, boolean first) {
    events.publish(EventTypes.BACKUP_SCHEDULED, r.cluster, r.database, r.runId, null, null,
        new Payloads.BackupScheduled(r.trigger, r.attempt));
    remember(r);
    lastRun.put(r.key(), r);
    ClusterState c = clusters.get(r.cluster);
    if (first) {
      c.queue.addFirst(r);
    } else {
      c.queue.addLast(r);
    }
  }

  private void remember(RunRecord r) {
    runs.put(r.runId, r);
    if (runs.size() > KEEP_FINISHED_RUNS) {
      Iterator<RunRecord> it = runs.values().iterator();
      while (runs.size() > KEEP_FINISHED_RUNS && it.hasNext()) {
        RunRecord old = it.next();
        if (old.state == State.COMPLETED || old.state == State.FAILED) {
          it.remove();
        }
      }
    }
  }

  /**
   * Starts queued runs while the fleet has room: under the fleet's run limit, under each cluster's run and task
   * limits, and only while workers have idle slots beyond the tasks already waiting (a run admitted without a slot
   * would hold its snapshot, and vacuum on the client's database, for nothing). Clusters take turns.
   */
  private void admit() {
    if (backups == null) {
      return;
    }
    List<ClusterState> order = new ArrayList<>(clusters.values());
    if (order.isEmpty()) {
      return;
    }
    boolean admitted = true;
    while (admitted) {
      admitted = false;
      java.util.Collections.rotate(order, -(clusterTurn++ % order.size()));
      for (ClusterState c : order) {
        if (c.queue.isEmpty()) {
          continue;
        }
        long running = runs.values().stream().filter(r -> r.state == State.RUNNING).count();
        if (running >= config.coordinator().maxRuns()) {
          return;
        }
        long planning = runs.values().stream().filter(r -> r.state == State.RUNNING && r.run == null).count();
        if (backups.idleSlots() - backups.backlog() - planning <= 0) {
          return;
        }
        String name = c.config.name();
        long clusterRuns = runs.values().stream().filter(r -> r.state == State.RUNNING && r.cluster.equals(name))
            .count();
        if (clusterRuns >= c.config.limits().maxRuns()
            || backups.tasksInFlight(name) >= c.config.limits().maxTasks()) {
          continue;
        }
        start(c.queue.poll());
        admitted = true;
      }
    }
  }

  private void start(RunRecord r) {
    r.state = State.RUNNING;
    r.startedAt = Instant.now();
    BackupCoordinator b = backups;
    int myTerm = term;
    ClusterState c = clusters.get(r.cluster);
    b.backup(r.runId, r.cluster, r.database, null, c.config.databases().filtersFor(r.database), p -> { })
        .onComplete(ar -> onRunEnded(r, ar.succeeded() ? ar.result() : null, ar.cause(), myTerm));
  }

  private void onRunEnded(RunRecord r, BackupOutcome outcome, Throwable failure, int myTerm) {
    capture(r);
    r.run = null;
    if (outcome != null) {
      Manifest m = outcome.manifest();
      r.backupId = m.backupId();
      lastBackup.put(r.key(), view(m));
      metrics.backupCompleted(m);
      metrics.runEnded(r.cluster, true);
      end(r, State.COMPLETED, null);
      retention.afterBackup(r.cluster, r.database);
      if (restoreTests != null) {
        restoreTests.backupCompleted(m);
      }
    } else {
      String reason = failure.getMessage();
      boolean retryable = failure instanceof BackupFailedException f && f.retryable();
      if (retryable && myTerm == term && backups != null && r.attempt < config.coordinator().maxRunAttempts()) {
        RunRecord next = new RunRecord(r.cluster, r.database, r.trigger, r.attempt + 1);
        reason += "; retried as run " + next.runId;
        end(r, State.FAILED, reason);
        enqueue(next, true);
      } else {
        end(r, State.FAILED, reason);
      }
      metrics.runEnded(r.cluster, false);
    }
    admit();
  }

  private void end(RunRecord r, State state, String reason) {
    r.state = state;
    r.reason = reason;
    r.endedAt = Instant.now();
    remember(r);
    RunRecord last = lastRun.get(r.key());
    if (last == null || last == r || last.queuedAt.isBefore(r.queuedAt)) {
      lastRun.put(r.key(), r);
    }
  }

  /** Copies a running run's progress into its record, so it stays visible once the run is gone. */
  private void capture(RunRecord r) {
    if (r.run == null) {
      return;
    }
    r.backupId = r.run.plan().backupId();
    RunProgress p = r.run.progress();
    Long eta = p.eta().map(Duration::toSeconds).orElse(null);
    r.progress = new Progress(p.tasksTotal(), p.tasksDone(), p.tasksRunning(), p.rows(), p.rawBytes(),
        p.storedBytes(), p.bytesPerSecond(), eta, p.fraction());
    long now = System.currentTimeMillis();
    List<TaskView> tasks = new ArrayList<>();
    for (BackupRun.TaskState t : r.run.tasks()) {
      double seconds = t.firstStartedAt() == 0 ? 0 : (now - t.firstStartedAt()) / 1000.0;
      double rate = seconds <= 0 || t.status() == BackupRun.Status.COMPLETED ? 0 : t.rawBytes() / seconds;
      Long taskEta = null;
      String table = null;
      String chunk = null;
      if (t.task() instanceof TableDataTask d) {
        table = d.table().schema() + "." + d.table().name();
        chunk = d.chunk() == null ? null : d.chunk().toString();
        if (t.status() == BackupRun.Status.STARTED && rate > 0) {
          taskEta = (long) Math.max(0, (d.estimatedBytes() - t.rawBytes()) / rate);
        }
      }
      tasks.add(new TaskView(t.task().header().taskId(), t.task().kind(), table, chunk, t.status().name(),
          t.task().header().attempt(), t.rows(), t.rawBytes(), t.storedBytes(), rate, taskEta));
    }
    r.tasks = tasks;
  }

  // ---- FleetApi ----

  private <T> Future<T> onContext(java.util.function.Supplier<T> s) {
    Promise<T> p = Promise.promise();
    context.runOnContext(v -> {
      try {
        p.complete(s.get());
      } catch (RuntimeException e) {
        p.fail(e);
      }
    });
    return p.future();
  }

  @Override
  public Future<List<ClusterView>> clusters() {
    return onContext(() -> clusters.values().stream().map(c -> {
      String name = c.config.name();
      int runsInFlight = (int) runs.values().stream().filter(r -> r.state == State.RUNNING && r.cluster.equals(name))
          .count();
      return new ClusterView(name, c.config.host(), c.config.port(),
          c.config.schedule() == null ? null : c.config.schedule().cron(),
          c.config.schedule() == null ? null : c.config.schedule().timeZone().getId(), c.nextWaveAt,
          c.config.limits().maxRuns(), c.config.limits().maxTasks(), runsInFlight,
          backups == null ? 0 : backups.tasksInFlight(name), databaseNames(name).size(), c.discoveredAt,
          c.discoveryError);
    }).toList());
  }

  private TreeSet<String> databaseNames(String cluster) {
    ClusterState c = clusters.get(cluster);
    TreeSet<String> names = new TreeSet<>();
    c.databases.stream().filter(db -> c.config.databases().selects(db)).forEach(names::add);
    String prefix = cluster + "/";
    lastBackup.keySet().stream().filter(k -> k.startsWith(prefix)).forEach(k -> names.add(k.substring(prefix.length())));
    lastRun.keySet().stream().filter(k -> k.startsWith(prefix)).forEach(k -> names.add(k.substring(prefix.length())));
    return names;
  }

  @Override
  public Future<List<DatabaseView>> databases(String cluster) {
    return onContext(() -> {
      if (!clusters.containsKey(cluster)) {
        throw new NotFound("cluster '" + cluster + "' is not configured");
      }
      return databaseNames(cluster).stream().map(db -> {
        String key = cluster + "/" + db;
        RunRecord r = lastRun.get(key);
        RunSummary s = r == null ? null : new RunSummary(r.runId, r.state.name(),
            r.endedAt != null ? r.endedAt : r.startedAt != null ? r.startedAt : r.queuedAt, r.reason);
        return new DatabaseView(cluster, db, lastBackup.get(key), s,
            restoreTests == null ? null : restoreTests.lastPassed(cluster, db).orElse(null));
      }).toList();
    });
  }

  @Override
  public Future<List<RunView>> runs(int limit) {
    return onContext(() -> {
      List<RunRecord> all = new ArrayList<>(runs.values());
      all.sort(Comparator.comparing((RunRecord r) -> r.queuedAt).reversed());
      return all.stream().limit(limit).map(this::runView).toList();
    });
  }

  @Override
  public Future<RunView> run(String runId) {
    return onContext(() -> {
      RunRecord r = runs.get(runId);
      if (r == null) {
        throw new NotFound("run " + runId + " is not known to this coordinator");
      }
      return runView(r);
    });
  }

  private RunView runView(RunRecord r) {
    if (r.state == State.RUNNING) {
      capture(r);
    }
    return new RunView(r.runId, r.cluster, r.database, r.backupId, r.state.name(), r.attempt, r.trigger, r.queuedAt,
        r.startedAt, r.endedAt, r.reason, r.progress, r.tasks);
  }

  @Override
  public Future<List<BackupView>> backups(String cluster, String database) {
    return vertx.executeBlocking(() -> {
      String prefix = RepositoryLayout.backupPrefix(cluster, database, "x");
      prefix = prefix.substring(0, prefix.length() - 2);
      BackupCatalog catalog = new BackupCatalog(storage);
      List<BackupView> found = new ArrayList<>();
      for (ObjectInfo o : storage.list(prefix)) {
        if (o.key().endsWith("/" + RepositoryLayout.MANIFEST)) {
          found.add(view(ManifestSeal.openIfPossible(catalog.read(o.key()), settings.encryptionKey())));
        }
      }
      found.sort(Comparator.comparing(BackupView::backupId).reversed());
      return found;
    }, false).compose(found -> onContext(() -> {
      if (found.isEmpty() && !clusters.containsKey(cluster)) {
        throw new NotFound("cluster '" + cluster + "' is not configured and has no backups");
      }
      return found;
    }));
  }

  @Override
  public Future<RunView> backupNow(String cluster, String database) {
    return onContext(() -> {
      ClusterState c = clusters.get(cluster);
      if (c == null) {
        throw new NotFound("cluster '" + cluster + "' is not configured");
      }
      if (backups == null) {
        throw new Rejected("this coordinator (" + instanceId() + ") is " + role + ", not the leader: send the request"
            + " to the leading coordinator", false);
      }
      Optional<RunRecord> existing = runs.values().stream().filter(r -> r.cluster.equals(cluster)
          && r.database.equals(database) && (r.state == State.QUEUED || r.state == State.RUNNING)).findFirst();
      if (existing.isPresent()) {
        return runView(existing.get());
      }
      RunRecord r = new RunRecord(cluster, database, "api", 1);
      enqueue(r, false);
      admit();
      return runView(r);
    });
  }

  @Override
  public Future<RestoreJobView> restore(String cluster, String database, String backupId, RestoreRequest req) {
    if (!clusters.containsKey(req.targetCluster())) {
      return Future.failedFuture(new NotFound("target cluster '" + req.targetCluster() + "' is not configured"));
    }
    if (req.targetDatabase() == null || req.targetDatabase().isBlank()) {
      return Future.failedFuture(new Rejected("targetDatabase is required", true));
    }
    String key = RepositoryLayout.manifestKey(cluster, database, backupId);
    return vertx.executeBlocking(() -> {
      if (storage.stat(key).isEmpty()) {
        throw new NotFound("backup " + backupId + " of " + cluster + "/" + database + " is not in " + storage.describe());
      }
      return new BackupCatalog(storage).read(key);
    }, false).compose(m -> onContext(() -> {
      String jobId = UUID.randomUUID().toString();
      Instant started = Instant.now();
      RestoreJobView job = new RestoreJobView(jobId, cluster, database, backupId, req.targetCluster(),
          req.targetDatabase(), "RUNNING", started, null, null, "starting", 0, 0, 0, 0, List.of());
      putJob(job);
      PgConnectionInfo target = directory.connection(req.targetCluster(), req.targetDatabase());
      LOG.info("restore {}: backup {} of {}/{} into {}/{}", jobId, backupId, cluster, database, req.targetCluster(),
          req.targetDatabase());
      restoreExecutor.<RestoreExecutor.Result>executeBlocking(() -> restorer.restore(m, target, req,
          p -> context.runOnContext(v -> {
            RestoreJobView j = restoreJobs.get(jobId);
            if (j != null && "RUNNING".equals(j.state())) {
              putJob(new RestoreJobView(jobId, cluster, database, backupId, req.targetCluster(), req.targetDatabase(),
                  "RUNNING", started, null, null, p.phase(), p.tablesTotal(), p.tablesDone(), p.rows(),
                  p.rawBytes(), List.of()));
            }
          })), false).onComplete(ar -> {
            RestoreJobView j = restoreJobs.get(jobId);
            if (ar.succeeded()) {
              RestoreExecutor.Result res = ar.result();
              LOG.info("restore {}: done, {} tables, {} rows", jobId, res.tables(), res.rows());
              putJob(new RestoreJobView(jobId, cluster, database, backupId, req.targetCluster(), req.targetDatabase(),
                  "COMPLETED", started, Instant.now(), null, "done", res.tables(), res.tables(), res.rows(),
                  j == null ? 0 : j.rawBytes(), res.notes()));
            } else {
              String error = ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage();
              LOG.error("restore {}: failed: {}", jobId, error);
              putJob(new RestoreJobView(jobId, cluster, database, backupId, req.targetCluster(), req.targetDatabase(),
                  "FAILED", started, Instant.now(), error, j == null ? "starting" : j.phase(),
                  j == null ? 0 : j.tablesTotal(), j == null ? 0 : j.tablesDone(), j == null ? 0 : j.rows(),
                  j == null ? 0 : j.rawBytes(), List.of()));
            }
          });
      return job;
    }));
  }

  private void putJob(RestoreJobView j) {
    restoreJobs.put(j.jobId(), j);
    Iterator<RestoreJobView> it = restoreJobs.values().iterator();
    while (restoreJobs.size() > KEEP_RESTORE_JOBS && it.hasNext()) {
      if (!"RUNNING".equals(it.next().state())) {
        it.remove();
      }
    }
  }

  @Override
  public Future<RestoreJobView> restoreJob(String jobId) {
    return onContext(() -> {
      RestoreJobView j = restoreJobs.get(jobId);
      if (j == null) {
        throw new NotFound("restore job " + jobId + " is not known to this coordinator");
      }
      return j;
    });
  }

  @Override
  public Future<List<RestoreJobView>> restoreJobs() {
    return onContext(() -> {
      List<RestoreJobView> all = new ArrayList<>(restoreJobs.values());
      java.util.Collections.reverse(all);
      return all;
    });
  }

  @Override
  public Future<List<AlertView>> alerts() {
    // Alerting runs on this context too, so its ring buffer is read here without locks.
    return onContext(() -> alerting == null ? List.<AlertView>of() : alerting.recent().stream()
        .map(n -> new AlertView(n.alertId(), n.kind().wire(), n.status().wire(), n.cluster(), n.database(),
            n.summary(), n.at()))
        .toList());
  }

  @Override
  public Status status() {
    return new Status(ready, role, "coordinator " + instanceId());
  }

  /** True while this coordinator leads (schedules and runs backups). */
  public boolean leader() {
    return backups != null && "leader".equals(role);
  }

  private static BackupView view(Manifest m) {
    return new BackupView(m.backupId(), m.cluster(), m.database(), m.startedAt(), m.finishedAt(),
        m.hasSealedPart() ? null : m.tableCount(), m.hasSealedPart() ? null : m.totalRows(), m.totalBytes(),
        m.encrypted(), m.archiveMode() ? m.archive().format() : null);
  }

  static String json(Object o) {
    return Json.write(o);
  }
}
