package io.pgfleet.coordinator.alerting;

import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgfleet.common.config.FleetConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts alert notifications to the configured webhooks, each in its format ({@code json}: pgfleet's alert document;
 * {@code slack}: an incoming-webhook message). A delivery is retried with exponential backoff (5 attempts) on
 * connection errors, 5xx and 429, never on other 4xx (the request itself is wrong: retrying cannot help). Each
 * webhook has its own rate limit of {@code maxPerMinute} notifications; the ones beyond it are dropped, logged and
 * counted, so an outage of 500 databases does not flood a channel.
 *
 * <p>A webhook's URL may be a secret (a Slack URL is a bearer credential): it is resolved at each send and never
 * logged; logs name the webhook. Runs on the caller's event loop; the retries wait on Vert.x timers.
 */
public final class WebhookSender {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookSender.class);
  static final int MAX_ATTEMPTS = 5;
  private static final long REQUEST_TIMEOUT_MILLIS = 10_000;

  /** A delivery that got an answer other than 2xx; {@code retryable} for 5xx and 429. */
  static final class RejectedDelivery extends RuntimeException {
    final int status;

    RejectedDelivery(int status) {
      super("HTTP " + status, null, false, false);
      this.status = status;
    }

    boolean retryable() {
      return status >= 500 || status == 429;
    }
  }

  /** The URL cannot even make a request (malformed): no attempt can succeed. */
  static final class UnusableUrl extends RuntimeException {
    UnusableUrl(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  private record Target(FleetConfig.Webhook webhook, RateLimiter limiter, Retry retry, AtomicLong dropped) {}

  private final Vertx vertx;
  private final WebClient client;
  private final MeterRegistry registry;
  private final List<Target> targets = new ArrayList<>();
  private final Map<String, AtomicLong> droppedByName = new ConcurrentHashMap<>();

  /**
   * @param retryBase the first retry's delay (doubled at each further attempt)
   * @param registry where {@code pgfleet.alerts.sent} and {@code pgfleet.alerts.dropped} are counted
   */
  public WebhookSender(Vertx vertx, List<FleetConfig.Webhook> webhooks, int maxPerMinute, Duration retryBase,
      MeterRegistry registry) {
    this.vertx = vertx;
    this.registry = registry;
    this.client = WebClient.create(vertx, new WebClientOptions().setUserAgent("pgfleet-alerts")
        .setConnectTimeout(5000));
    RetryConfig retry = RetryConfig.custom()
        .maxAttempts(MAX_ATTEMPTS)
        .intervalFunction(IntervalFunction.ofExponentialBackoff(retryBase, 2.0))
        .retryOnException(e -> e instanceof RejectedDelivery r ? r.retryable() : !(e instanceof UnusableUrl))
        .build();
    RateLimiterConfig limit = RateLimiterConfig.custom()
        .limitForPeriod(Math.max(1, maxPerMinute))
        .limitRefreshPeriod(Duration.ofMinutes(1))
        .timeoutDuration(Duration.ZERO)
        .build();
    for (FleetConfig.Webhook w : webhooks) {
      AtomicLong dropped = droppedByName.computeIfAbsent(w.name(), n -> new AtomicLong());
      targets.add(new Target(w, RateLimiter.of("pgfleet-webhook-" + w.name(), limit),
          Retry.of("pgfleet-webhook-" + w.name(), retry), dropped));
    }
  }

  /**
   * Sends one notification to every webhook. Completes (never fails) with how many webhooks accepted it, once each
   * delivery has succeeded, been dropped, or given up.
   */
  public Future<Integer> send(AlertEngine.Notification n) {
    List<Future<Boolean>> all = new ArrayList<>();
    for (Target t : targets) {
      all.add(deliver(t, n));
    }
    return Future.join(all).transform(x -> Future.succeededFuture(
        (int) all.stream().filter(f -> f.succeeded() && Boolean.TRUE.equals(f.result())).count()));
  }

  /** Notifications dropped by the rate limit of the webhook named {@code name} so far. */
  public long dropped(String name) {
    AtomicLong d = droppedByName.get(name);
    return d == null ? 0 : d.get();
  }

  public Future<Void> close() {
    client.close();
    return Future.succeededFuture();
  }

  private Future<Boolean> deliver(Target t, AlertEngine.Notification n) {
    String name = t.webhook().name();
    if (!t.limiter().acquirePermission()) {
      t.dropped().incrementAndGet();
      registry.counter("pgfleet.alerts.dropped", "webhook", name, "kind", n.kind().wire()).increment();
      LOG.warn("webhook {}: rate limit of {} alerts per minute reached, dropping {} {} alert for {} ({} dropped so"
          + " far)", name, t.limiter().getRateLimiterConfig().getLimitForPeriod(), n.status().wire(),
          n.kind().wire(), n.subject(), t.dropped().get());
      return Future.succeededFuture(false);
    }
    String url;
    try {
      url = t.webhook().resolveUrl();
    } catch (RuntimeException e) {
      // The message names the variable or file, never the value.
      LOG.error("webhook {}: cannot read its URL: {}; {} alert for {} not sent", name, e.getMessage(),
          n.kind().wire(), n.subject());
      return Future.succeededFuture(false);
    }
    JsonObject body = "slack".equals(t.webhook().format()) ? slack(n) : json(n);
    Retry.AsyncContext<Object> retry = t.retry().asyncContext();
    Promise<Boolean> done = Promise.promise();
    attempt(t, n, url, body, retry, 1, done);
    return done.future();
  }

  private void attempt(Target t, AlertEngine.Notification n, String url, JsonObject body,
      Retry.AsyncContext<Object> retry, int attempt, Promise<Boolean> done) {
    String name = t.webhook().name();
    Future<HttpResponse<Buffer>> sent;
    try {
      sent = client.postAbs(url).timeout(REQUEST_TIMEOUT_MILLIS).sendJsonObject(body);
    } catch (RuntimeException e) {
      sent = Future.failedFuture(new UnusableUrl(e)); // a malformed URL throws here, with the URL in the message
    }
    sent.onComplete(ar -> {
      Throwable failure = ar.failed() ? ar.cause()
          : ar.result().statusCode() / 100 == 2 ? null : new RejectedDelivery(ar.result().statusCode());
      if (failure == null) {
        retry.onComplete();
        registry.counter("pgfleet.alerts.sent", "webhook", name, "kind", n.kind().wire(), "status",
            n.status().wire()).increment();
        LOG.info("webhook {}: sent {} {} alert for {}{}", name, n.status().wire(), n.kind().wire(), n.subject(),
            attempt > 1 ? " (attempt " + attempt + ")" : "");
        done.complete(true);
        return;
      }
      long delay = retry.onError(failure);
      String why = redact(failure, url);
      if (delay < 0) {
        registry.counter("pgfleet.alerts.failed", "webhook", name, "kind", n.kind().wire()).increment();
        LOG.error("webhook {}: {} {} alert for {} not delivered after {} attempt(s): {}", name, n.status().wire(),
            n.kind().wire(), n.subject(), attempt, why);
        done.complete(false);
        return;
      }
      LOG.warn("webhook {}: attempt {} of {} alert for {} failed ({}), retrying in {} ms", name, attempt,
          n.kind().wire(), n.subject(), why, delay);
      vertx.setTimer(Math.max(1, delay), id -> attempt(t, n, url, body, retry, attempt + 1, done));
    });
  }

  /** The failure as a log line, without the URL (or its path, where a Slack URL keeps its secret). */
  static String redact(Throwable e, String url) {
    String m = e instanceof RejectedDelivery ? e.getMessage()
        : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    if (url == null || url.isEmpty()) {
      return m;
    }
    m = m.replace(url, "<webhook url>");
    try {
      String path = java.net.URI.create(url).getRawPath();
      if (path != null && path.length() > 1) {
        m = m.replace(path, "<path>");
      }
    } catch (IllegalArgumentException ignored) {
      // not a URI: the full-string replacement above is all we can do
    }
    return m;
  }

  /** pgfleet's alert document (docs/alerting.md). */
  static JsonObject json(AlertEngine.Notification n) {
    JsonObject alert = new JsonObject()
        .put("id", n.alertId())
        .put("kind", n.kind().wire())
        .put("status", n.status().wire())
        .put("cluster", n.cluster())
        .put("database", n.database())
        .put("summary", n.summary())
        .put("details", new JsonObject(new java.util.LinkedHashMap<>(n.details())))
        .put("firstSeenAt", n.firstSeenAt().toString())
        .put("at", n.at().toString());
    if (n.reminder()) {
      alert.put("reminder", true);
    }
    return new JsonObject().put("alert", alert).put("source", "pgfleet");
  }

  /** A Slack incoming-webhook message: one line of text. */
  static JsonObject slack(AlertEngine.Notification n) {
    String text;
    if (n.status() == AlertEngine.Status.FIRING) {
      text = ":red_circle: pgfleet: " + n.summary()
          + (n.reminder() ? " (still failing since " + n.firstSeenAt() + ")" : "");
    } else {
      text = ":large_green_circle: pgfleet: resolved " + n.kind().wire().replace('_', ' ') + " of " + n.subject()
          + ": " + n.summary();
    }
    return new JsonObject().put("text", text);
  }
}
