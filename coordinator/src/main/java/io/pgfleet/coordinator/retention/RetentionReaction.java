package io.pgfleet.coordinator.retention;

import io.pgfleet.common.config.CronSchedule;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.retention.RetentionExecutor;
import io.pgfleet.common.retention.RetentionPlanner;
import io.pgfleet.common.storage.Storage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's retention: after every completed backup of a database that a rule of {@code retention.rules}
 * matches, that rule is applied to that database; with {@code retention.schedule}, every database is gone over at
 * those cron times. Passes run on Vert.x worker threads (storage I/O), one at a time per database: a pass asked for
 * while one runs is run once more after it, never alongside. Each deleted backup is announced with an
 * {@code io.pgfleet.retention.deleted} event and handed to {@code onDeleted}.
 */
public final class RetentionReaction {
  private static final Logger LOG = LoggerFactory.getLogger(RetentionReaction.class);

  /** A deleted backup, for whoever keeps a view of the repository. */
  public record Deleted(String cluster, String database, String backupId) {}

  private final Vertx vertx;
  private final Storage storage;
  private final FleetConfig.Retention retention;
  private final Supplier<EventPublisher> events;
  private final java.util.function.Consumer<Deleted> onDeleted;
  private final RetentionExecutor.Options options;
  private final CronSchedule schedule;
  /** cluster/database → true when another pass is owed after the running one. */
  private final Map<String, Boolean> running = new ConcurrentHashMap<>();
  private volatile Instant nextPassAt;

  /**
   * @param events where deletions are announced; a supplier because the coordinator creates its publisher only when
   *     it starts
   */
  public RetentionReaction(Vertx vertx, Storage storage, FleetConfig.Retention retention,
      Supplier<EventPublisher> events, java.util.function.Consumer<Deleted> onDeleted,
      RetentionExecutor.Options options) {
    this.vertx = vertx;
    this.storage = storage;
    this.retention = retention == null ? FleetConfig.Retention.NONE : retention;
    this.events = events;
    this.onDeleted = onDeleted;
    this.options = options;
    this.schedule = this.retention.schedule() == null ? null : this.retention.schedule().cronSchedule();
  }

  public RetentionReaction(Vertx vertx, Storage storage, FleetConfig.Retention retention,
      Supplier<EventPublisher> events, java.util.function.Consumer<Deleted> onDeleted) {
    this(vertx, storage, retention, events, onDeleted, RetentionExecutor.Options.defaults());
  }

  /** After a completed backup of the database: applies its rule, if one matches. */
  public Future<Optional<RetentionExecutor.Report>> afterBackup(String cluster, String database) {
    Optional<FleetConfig.RetentionPolicy> policy = retention.policyFor(cluster, database);
    if (policy.isEmpty()) {
      return Future.succeededFuture(Optional.empty());
    }
    return pass(cluster, database, policy.get());
  }

  /** Called every tick by the leader: starts the pass over every database when the schedule says so. */
  public void tick(Instant now) {
    if (schedule == null) {
      return;
    }
    if (nextPassAt == null) {
      nextPassAt = schedule.nextAfter(now).orElse(null);
      return;
    }
    if (!now.isBefore(nextPassAt)) {
      nextPassAt = schedule.nextAfter(now).orElse(null);
      passOverAll();
    }
  }

  /** One pass over every database of the repository that a rule matches. */
  public Future<List<RetentionExecutor.Report>> passOverAll() {
    return vertx.executeBlocking(() -> new RetentionExecutor(storage).databases(), false).compose(dbs -> {
      List<Future<Optional<RetentionExecutor.Report>>> passes = new ArrayList<>();
      for (Map.Entry<String, String> db : dbs) {
        passes.add(afterBackup(db.getKey(), db.getValue()));
      }
      return Future.join(passes).map(x -> passes.stream().filter(Future::succeeded)
          .flatMap(f -> f.result().stream()).toList());
    }).onFailure(e -> LOG.error("retention: scheduled pass failed: {}", e.toString()));
  }

  private Future<Optional<RetentionExecutor.Report>> pass(String cluster, String database,
      FleetConfig.RetentionPolicy policy) {
    String key = cluster + "/" + database;
    if (running.putIfAbsent(key, false) != null) {
      // One pass per database at a time: the running one is followed by one more, which sees this backup too.
      running.put(key, true);
      return Future.succeededFuture(Optional.empty());
    }
    return vertx.executeBlocking(
        () -> new RetentionExecutor(storage).apply(cluster, database, policy, options, Instant.now()), false)
        .compose(report -> announce(report).map(Optional.of(report)))
        .onFailure(e -> LOG.error("retention of {}: pass failed: {}", key, e.toString()))
        .eventually(() -> {
          boolean again = Boolean.TRUE.equals(running.remove(key));
          if (again) {
            pass(cluster, database, policy);
          }
          return Future.succeededFuture();
        });
  }

  private Future<Void> announce(RetentionExecutor.Report report) {
    String policy = RetentionPlanner.describe(report.policy());
    List<Future<Void>> sent = new ArrayList<>();
    for (RetentionPlanner.Decision d : report.deleted()) {
      String id = d.backup().backupId();
      sent.add(events.get().publish(EventTypes.RETENTION_DELETED, report.cluster(), report.database(), null, id,
          null, new Payloads.RetentionDeleted(id, d.backup().finishedAt(), "kept by no rule of the policy", policy)));
      onDeleted.accept(new Deleted(report.cluster(), report.database(), id));
      io.micrometer.core.instrument.Metrics.counter(io.pgfleet.common.metrics.MetricNames.RETENTION_DELETED,
          "cluster", report.cluster()).increment();
    }
    for (RetentionExecutor.Failure f : report.failures()) {
      LOG.warn("retention of {}/{}: backup {}: {}", report.cluster(), report.database(), f.backupId(), f.what());
    }
    if (!report.deleted().isEmpty() || !report.leftovers().isEmpty()) {
      LOG.info("retention of {}/{} ({}): {} kept, {} deleted, {} leftover folder(s) removed", report.cluster(),
          report.database(), policy, report.kept(), report.deleted().size(), report.leftovers().size());
    }
    return Future.join(sent).mapEmpty();
  }
}
