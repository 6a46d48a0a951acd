package io.pgfleet.common.metrics;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The process's Prometheus registry. Everything pgfleet measures goes to Micrometer's global registry (tags kept
 * bounded: cluster, database, worker, kind, outcome — never a run, task, table or backup id); this registry joins
 * it once per process, with the JVM's own meters, and renders it for a scrape.
 */
public final class ProcessMetrics {
  private static PrometheusMeterRegistry registry;

  private ProcessMetrics() {}

  public static synchronized PrometheusMeterRegistry registry() {
    if (registry == null) {
      registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      new JvmMemoryMetrics().bindTo(registry);
      new JvmGcMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      new UptimeMetrics().bindTo(registry);
      Metrics.addRegistry(registry);
    }
    return registry;
  }

  /** The Prometheus text exposition of every meter. */
  public static String scrape() {
    return registry().scrape();
  }

  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** Answers a scrape: GET only, the exposition rendered off the event loop. */
  public static void handle(io.vertx.core.http.HttpServerRequest req) {
    if (req.method() != io.vertx.core.http.HttpMethod.GET) {
      req.response().setStatusCode(405).end();
      return;
    }
    io.vertx.core.Vertx.currentContext().owner().executeBlocking(ProcessMetrics::scrape, false)
        .onSuccess(text -> req.response().putHeader("content-type", CONTENT_TYPE).end(text))
        .onFailure(e -> req.response().setStatusCode(500).end("cannot render metrics: " + e.getMessage()));
  }
}
