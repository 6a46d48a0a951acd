package io.pgfleet.cli.standalone;

import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.coordinator.BackupCoordinator;
import io.pgfleet.coordinator.plan.BackupPlanner;
import io.pgfleet.worker.Worker;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.LoggerFactory;

/**
 * One JVM running a coordinator and N workers over Kafka: the embedded broker by default, or an external one.
 * Each worker has its own Kafka clients and group membership, exactly as a worker process in a fleet would.
 */
public final class Standalone implements AutoCloseable {
  /**
   * @param encryptionKey the master key when backups are encrypted, else null. The coordinator wraps each backup's
   *     data key with it and the in-process workers unwrap with it; it never travels through Kafka (a fleet worker
   *     reads its own copy from its file or environment).
   */
  public record Options(int workers, int slotsPerWorker, int zstdLevel, int taskPartitions, String pgfleetVersion,
      BackupPlanner.PlanOptions plan, MasterKey encryptionKey) {
    public Options(int workers, int slotsPerWorker, int zstdLevel, int taskPartitions, String pgfleetVersion,
        BackupPlanner.PlanOptions plan) {
      this(workers, slotsPerWorker, zstdLevel, taskPartitions, pgfleetVersion, plan, null);
    }
  }

  private final EmbeddedKafka embedded;
  private final Vertx vertx;
  private final List<Worker> workers = new ArrayList<>();
  private final BackupCoordinator coordinator;
  private final KafkaSettings kafka;

  private Standalone(EmbeddedKafka embedded, KafkaSettings kafka, Vertx vertx, BackupCoordinator coordinator) {
    this.embedded = embedded;
    this.kafka = kafka;
    this.vertx = vertx;
    this.coordinator = coordinator;
  }

  /** Starts everything; {@code externalKafka} null means the embedded broker. */
  public static Standalone start(String externalKafka, Storage storage, ClusterDirectory clusters, Options o)
      throws Exception {
    EmbeddedKafka embedded = externalKafka == null ? EmbeddedKafka.start() : null;
    KafkaSettings kafka = KafkaSettings.of(externalKafka == null ? embedded.bootstrapServers() : externalKafka);
    Vertx vertx = null;
    try {
      Topics.ensure(kafka, new Topics.Layout(o.taskPartitions(), 4, (short) 1));
      if (externalKafka != null) {
        refuseAFleetsBroker(kafka);
      }
      vertx = Vertx.vertx();
      BackupCoordinator coordinator = new BackupCoordinator(vertx, kafka, storage, clusters,
          BackupCoordinator.Options.defaults(o.pgfleetVersion()).withPlan(o.plan())
              .withEncryption(o.encryptionKey()));
      Standalone s = new Standalone(embedded, kafka, vertx, coordinator);
      String prefix = "standalone-" + Long.toHexString(System.nanoTime() & 0xffffff) + "-w";
      PgTools tools = PgTools.fromEnvironment();
      List<Future<Void>> starts = new ArrayList<>();
      for (int i = 1; i <= o.workers(); i++) {
        Worker w = new Worker(vertx, kafka, storage, clusters, tools,
            new Worker.Options(prefix + i, o.slotsPerWorker(), o.zstdLevel(), false, o.encryptionKey()));
        s.workers.add(w);
        starts.add(w.start());
      }
      starts.add(coordinator.start());
      Future.all(starts).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      // Wait until the group has settled with every worker owning partitions, so the run is spread over all of
      // them from its first task (the dispatcher only uses workers it has heard from).
      try {
        Future.all(s.workers.stream().map(Worker::assigned).toList())
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        LoggerFactory.getLogger(Standalone.class).warn("not every worker had partitions after 30 s; starting with those that do");
      }
      return s;
    } catch (Exception e) {
      if (vertx != null) {
        vertx.close();
      }
      if (embedded != null) {
        embedded.close();
      }
      throw e;
    }
  }

  /**
   * A fleet's workers consume the same task topic in the same group: they would take this run's tasks and fail
   * them for a cluster they do not know. A running fleet has a coordinator in its group; refuse its broker.
   */
  private static void refuseAFleetsBroker(KafkaSettings kafka) throws Exception {
    int coordinators = Topics.groupMembers(kafka, Topics.COORDINATOR_GROUP);
    if (coordinators > 0) {
      throw new io.pgfleet.cli.UserError("Kafka at " + kafka.bootstrapServers() + " is used by a pgfleet fleet ("
          + coordinators + " coordinator(s) in group " + Topics.COORDINATOR_GROUP + "), whose workers would take"
          + " this backup's tasks: ask the fleet for it (POST /api/v1/clusters/{cluster}/databases/{database}"
          + "/backups) or give --kafka a broker no fleet uses");
    }
  }

  public BackupCoordinator coordinator() {
    return coordinator;
  }

  public KafkaSettings kafka() {
    return kafka;
  }

  @Override
  public void close() throws Exception {
    List<Future<Void>> stops = new ArrayList<>();
    stops.add(coordinator.stop());
    workers.forEach(w -> stops.add(w.stop()));
    try {
      Future.join(stops).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // closing anyway
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    if (embedded != null) {
      embedded.close();
    }
  }
}
