package io.pgfleet.cli.fleet;

import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.metrics.ProcessMetrics;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.ResilientStorage;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.coordinator.api.ApiServer;
import io.pgfleet.coordinator.dispatch.TaskDispatcher;
import io.pgfleet.coordinator.fleet.FleetCoordinator;
import io.pgfleet.worker.Worker;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A long-running fleet process: a coordinator with its HTTP API, workers, or both (standalone, with the embedded
 * broker when the configuration names no Kafka). Stops gracefully on SIGTERM: the coordinator leaves the election
 * (another takes over at once) and fails its runs explicitly; workers leave the group, their tasks redelivered.
 */
public final class FleetProcess implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FleetProcess.class);

  /**
   * @param workers worker instances in this process (0 for a coordinator alone)
   * @param coordinator whether this process runs a coordinator (and the API)
   * @param silenceTimeout how long a running task may go unheard before the coordinator publishes it again
   */
  public record Options(boolean coordinator, int workers, String version, Duration silenceTimeout,
      Duration leaderSessionTimeout, String instanceId) {}

  private final EmbeddedKafka embedded;
  private final Vertx vertx;
  private final List<Worker> workers = new ArrayList<>();
  private FleetCoordinator fleet;
  private ApiServer api;
  private int apiPort = -1;
  private io.vertx.core.http.HttpServer metricsServer;
  private int metricsPort = -1;

  private FleetProcess(EmbeddedKafka embedded, Vertx vertx) {
    this.embedded = embedded;
    this.vertx = vertx;
  }

  /**
   * @param repository the repository; its resilience layer ({@link ResilientStorage}: retries with backoff, one
   *     circuit breaker per repository shared by the coordinator and the workers of this process) is added here
   */
  public static FleetProcess start(FleetConfig config, Storage repository, Options o) throws Exception {
    Storage storage = ResilientStorage.wrap(repository, FleetSetup.resilience(config));
    // Every secret first: a missing variable or file stops the process before anything starts.
    ClusterDirectory clusters = FleetSetup.clusters(config);
    MasterKey key = FleetSetup.encryptionKey(config);
    PgTools tools = FleetSetup.tools(config);
    if (o.coordinator() && config.coordinator().apiToken() != null) {
      config.coordinator().apiToken().resolve();
    }
    if (o.coordinator() && config.restoreTests() != null) {
      FleetRestoreTests.connection(config.restoreTests().sandbox());
    }
    KafkaSettings kafka = FleetSetup.kafka(config);
    EmbeddedKafka embedded = null;
    if (kafka == null) {
      embedded = EmbeddedKafka.start();
      kafka = FleetSetup.kafka(config, embedded.bootstrapServers());
    }
    // Vert.x's own meters (event loops, pools, HTTP, Kafka clients) go to the same registry as pgfleet's.
    Vertx vertx = Vertx.builder()
        .with(new io.vertx.core.VertxOptions().setMetricsOptions(
            new io.vertx.micrometer.MicrometerMetricsOptions().setEnabled(true)))
        .withMetrics(new io.vertx.micrometer.MicrometerMetricsFactory(ProcessMetrics.registry()))
        .build();
    FleetProcess p = new FleetProcess(embedded, vertx);
    try {
      Topics.ensure(kafka, FleetSetup.topics(config));
      List<Future<Void>> starts = new ArrayList<>();
      String base = config.worker().id() != null ? config.worker().id()
          : "worker-" + UUID.randomUUID().toString().substring(0, 8);
      for (int i = 1; i <= o.workers(); i++) {
        String id = o.workers() == 1 ? base : base + "-" + i;
        Worker w = new Worker(vertx, kafka, storage, clusters, tools,
            new Worker.Options(id, config.worker().slots(), config.worker().zstdLevel(), config.worker().id() != null,
                key, config.worker().stallTimeout()));
        p.workers.add(w);
        starts.add(w.start());
      }
      Future.all(starts).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      if (o.coordinator()) {
        FleetCoordinator.Settings s = FleetCoordinator.Settings.defaults(o.version()).withEncryption(key)
            .withTimeouts(o.silenceTimeout(), o.leaderSessionTimeout());
        if (o.instanceId() != null) {
          s = s.withInstanceId(o.instanceId());
        }
        FleetRestoreTests restoreTests = config.restoreTests() == null ? null
            : new FleetRestoreTests(storage, tools, key, config.restoreTests().sandbox(), o.version());
        p.fleet = new FleetCoordinator(vertx, kafka, storage, config, clusters, new FleetRestores(storage, tools, key),
            restoreTests, s);
        p.fleet.start().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        FleetConfig.SecretRef token = config.coordinator().apiToken();
        p.api = new ApiServer(vertx, p.fleet, token == null ? null : token::resolve);
        p.api.router().get("/metrics").handler(ctx -> ProcessMetrics.handle(ctx.request()));
        p.apiPort = p.api.start(config.coordinator().http().host(), config.coordinator().http().port())
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      if (!o.coordinator() && o.workers() > 0 && config.worker().metricsPort() >= 0) {
        p.metricsServer = vertx.createHttpServer().requestHandler(ProcessMetrics::handle);
        p.metricsPort = p.metricsServer.listen(config.worker().metricsPort(), "0.0.0.0")
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).actualPort();
      }
      return p;
    } catch (Exception e) {
      p.close();
      throw e;
    }
  }

  /** Where a worker process serves /metrics, -1 when it does not (off, or a coordinator's API serves them). */
  public int metricsPort() {
    return metricsPort;
  }

  /** The API's port, -1 without a coordinator. */
  public int apiPort() {
    return apiPort;
  }

  public FleetCoordinator coordinator() {
    return fleet;
  }

  static int partitionsFor(int workers, int slots) {
    return workers * (slots + TaskDispatcher.PREFETCH);
  }

  @Override
  public void close() {
    List<Future<Void>> stops = new ArrayList<>();
    if (api != null) {
      stops.add(api.stop());
    }
    if (metricsServer != null) {
      stops.add(metricsServer.close());
    }
    if (fleet != null) {
      stops.add(fleet.stop());
    }
    workers.forEach(w -> stops.add(w.stop()));
    try {
      Future.join(stops).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("fleet process: not everything stopped cleanly: {}", e.toString());
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("fleet process: Vert.x did not close cleanly: {}", e.toString());
    }
    if (embedded != null) {
      try {
        embedded.close();
      } catch (Exception e) {
        LOG.warn("fleet process: the embedded broker did not close cleanly: {}", e.toString());
      }
    }
  }
}
