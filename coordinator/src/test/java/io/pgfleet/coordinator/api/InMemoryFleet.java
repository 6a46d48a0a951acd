package io.pgfleet.coordinator.api;

import io.vertx.core.Future;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fleet of two clusters held in memory, for testing the HTTP layer alone. {@code prod-eu/orders} has every optional
 * field filled (so the document's nested schemas are all exercised), {@code staging/audit} has them null;
 * {@code prod-eu/busy} rejects a backup (409), run {@link #BOOM} fails with an unexpected exception (500).
 */
final class InMemoryFleet implements FleetApi {
  static final String BACKUP_ID = "20250131T020000Z-1a2b3c";
  static final String RUNNING = "run-0001";
  static final String QUEUED = "run-0002";
  static final String BOOM = "boom";
  static final String JOB = "restore-0001";
  private static final Instant T0 = Instant.parse("2025-01-31T02:00:00Z");

  volatile Status status = new Status(true, "leader", "connected to Kafka");
  final AtomicInteger lastLimit = new AtomicInteger();
  final AtomicReference<RestoreRequest> lastRestore = new AtomicReference<>();
  private final List<RunView> runs = new ArrayList<>();
  private final List<RestoreJobView> jobs = new ArrayList<>();

  InMemoryFleet() {
    runs.add(new RunView(RUNNING, "prod-eu", "orders", BACKUP_ID, "RUNNING", 1, "schedule", T0, T0.plusSeconds(2),
        null, null, new Progress(3, 1, 2, 1000, 1 << 20, 1 << 18, 5.5e6, 42L, 0.33),
        List.of(new TaskView("t-1", "TABLE_DATA", "public.orders", "0-1000", "RUNNING", 1, 1000, 1 << 20, 1 << 18,
            5.5e6, 42L), new TaskView("t-2", "SCHEMA", null, null, "DONE", 1, 0, 0, 0, 0, null))));
    runs.add(new RunView(QUEUED, "staging", "audit", null, "QUEUED", 1, "api", T0.plusSeconds(5), null, null,
        "waiting for admission", null, List.of()));
    jobs.add(new RestoreJobView(JOB, "prod-eu", "orders", BACKUP_ID, "staging", "orders_copy", "COMPLETED", T0,
        T0.plusSeconds(60), null, "done", 12, 12, 1000, 1 << 20, List.of("restored without owners")));
  }

  @Override
  public Future<List<ClusterView>> clusters() {
    return Future.succeededFuture(List.of(
        new ClusterView("prod-eu", "pg-eu.internal", 5432, "0 2 * * *", "Europe/Paris", T0.plusSeconds(86400), 4, 16,
            1, 2, 3, T0, null),
        new ClusterView("staging", "pg-staging.internal", 5433, null, null, null, 1, 4, 0, 0, 1, null,
            "password authentication failed for user 'backup'")));
  }

  @Override
  public Future<List<DatabaseView>> databases(String cluster) {
    return switch (cluster) {
      case "prod-eu" -> Future.succeededFuture(List.of(new DatabaseView("prod-eu", "orders", backup(),
          new RunSummary(RUNNING, "RUNNING", T0, null), T0.minusSeconds(3600))));
      case "staging" -> Future.succeededFuture(List.of(new DatabaseView("staging", "audit", null, null, null)));
      default -> Future.failedFuture(new NotFound("no cluster named \"" + cluster + "\" is configured"));
    };
  }

  @Override
  public Future<List<RunView>> runs(int limit) {
    lastLimit.set(limit);
    return Future.succeededFuture(runs.subList(0, Math.min(limit, runs.size())));
  }

  @Override
  public Future<RunView> run(String runId) {
    if (BOOM.equals(runId)) {
      return Future.failedFuture(new IllegalStateException("the run table is\ncorrupt"));
    }
    return runs.stream().filter(r -> r.runId().equals(runId)).findFirst().map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(new NotFound("no run " + runId)));
  }

  @Override
  public Future<List<BackupView>> backups(String cluster, String database) {
    return known(cluster).map(c -> "orders".equals(database) ? List.of(backup()) : List.of());
  }

  @Override
  public Future<RunView> backupNow(String cluster, String database) {
    if ("busy".equals(database)) {
      return Future.failedFuture(new Rejected("a run of " + cluster + "/busy is already in flight", false));
    }
    return known(cluster).map(c -> new RunView("run-0003", cluster, database, null, "QUEUED", 1, "api",
        T0.plusSeconds(10), null, null, null, null, List.of()));
  }

  @Override
  public Future<RestoreJobView> restore(String cluster, String database, String backupId, RestoreRequest request) {
    lastRestore.set(request);
    return known(cluster).map(c -> new RestoreJobView("restore-0002", cluster, database, backupId,
        request.targetCluster(), request.targetDatabase(), "RUNNING", T0.plusSeconds(20), null, null, "schema", 0, 0,
        0, 0, List.of()));
  }

  @Override
  public Future<RestoreJobView> restoreJob(String jobId) {
    return jobs.stream().filter(j -> j.jobId().equals(jobId)).findFirst().map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(new NotFound("no restore job " + jobId)));
  }

  @Override
  public Future<List<RestoreJobView>> restoreJobs() {
    return Future.succeededFuture(List.copyOf(jobs));
  }

  @Override
  public Future<List<AlertView>> alerts() {
    return Future.succeededFuture(List.of(
        new AlertView("a1b2c3", "backup_failed", "firing", "prod-eu", "orders",
            "backup of prod-eu/orders failed: connection refused", T0.plusSeconds(30)),
        new AlertView("d4e5f6", "missed_schedule", "resolved", "staging", "audit",
            "staging/audit is backed up again", T0.plusSeconds(20))));
  }

  @Override
  public Status status() {
    return status;
  }

  private static Future<String> known(String cluster) {
    return "prod-eu".equals(cluster) || "staging".equals(cluster)
        ? Future.succeededFuture(cluster)
        : Future.failedFuture(new NotFound("no cluster named \"" + cluster + "\" is configured"));
  }

  private static BackupView backup() {
    return new BackupView(BACKUP_ID, "prod-eu", "orders", T0, T0.plusSeconds(300), 12L, 1000L, 1 << 18, true, "zstd");
  }
}
