package io.pgfleet.coordinator.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.coordinator.alerting.AlertEngine.Kind;
import io.pgfleet.coordinator.alerting.AlertEngine.Notification;
import io.pgfleet.coordinator.alerting.AlertEngine.Status;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Deliveries to a real HTTP server: payload formats, retries, no retry on 4xx, the rate limit, no URL in logs. */
class WebhookSenderTest {
  /** Stands for a secret: a Slack URL's path is its credential. */
  private static final String SECRET_PATH = "/services/T000/B000/s3cr3t-token";

  private Vertx vertx;
  private HttpServer server;
  private int port;
  private final List<JsonObject> received = new CopyOnWriteArrayList<>();
  /** Status codes to answer, in order; 200 once empty. */
  private final Deque<Integer> answers = new ArrayDeque<>();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      received.add(b.toJsonObject());
      Integer status;
      synchronized (answers) {
        status = answers.poll();
      }
      req.response().setStatusCode(status == null ? 200 : status).end();
    })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    port = server.actualPort();
    logs.start();
    ((Logger) LoggerFactory.getLogger(WebhookSender.class)).addAppender(logs);
  }

  @AfterEach
  void stop() throws Exception {
    ((Logger) LoggerFactory.getLogger(WebhookSender.class)).detachAppender(logs);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private String url() {
    return "http://127.0.0.1:" + port + SECRET_PATH;
  }

  private WebhookSender sender(String format, int maxPerMinute) {
    return new WebhookSender(vertx, List.of(new FleetConfig.Webhook("ops", url(), null, format)), maxPerMinute,
        Duration.ofMillis(20), registry);
  }

  private static Notification failing(String db) {
    Instant t = Instant.parse("2026-03-02T10:00:00Z");
    return new Notification("id-1", Kind.BACKUP_FAILED, Status.FIRING, "tenant-a", db,
        "backup of tenant-a/" + db + " failed: permission denied", Map.of("reason", "permission denied"), t,
        t.plusSeconds(5), false);
  }

  private static int await(io.vertx.core.Future<Integer> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void jsonPayload() throws Exception {
    assertThat(await(sender("json", 30).send(failing("billing")))).isEqualTo(1);
    assertThat(received).hasSize(1);
    JsonObject doc = received.get(0);
    assertThat(doc.getString("source")).isEqualTo("pgfleet");
    JsonObject a = doc.getJsonObject("alert");
    assertThat(a.getString("id")).isEqualTo("id-1");
    assertThat(a.getString("kind")).isEqualTo("backup_failed");
    assertThat(a.getString("status")).isEqualTo("firing");
    assertThat(a.getString("cluster")).isEqualTo("tenant-a");
    assertThat(a.getString("database")).isEqualTo("billing");
    assertThat(a.getString("summary")).isEqualTo("backup of tenant-a/billing failed: permission denied");
    assertThat(a.getJsonObject("details").getString("reason")).isEqualTo("permission denied");
    assertThat(a.getString("firstSeenAt")).isEqualTo("2026-03-02T10:00:00Z");
    assertThat(a.getString("at")).isEqualTo("2026-03-02T10:00:05Z");
    assertThat(registry.counter("pgfleet.alerts.sent", "webhook", "ops", "kind", "backup_failed", "status",
        "firing").count()).isEqualTo(1.0);
  }

  @Test
  void slackPayload() throws Exception {
    WebhookSender s = sender("slack", 30);
    await(s.send(failing("billing")));
    Notification f = failing("billing");
    await(s.send(new Notification(f.alertId(), f.kind(), Status.RESOLVED, f.cluster(), f.database(),
        "backup of tenant-a/billing completed", f.details(), f.firstSeenAt(), f.at(), false)));
    assertThat(received).extracting(j -> j.getString("text")).containsExactly(
        ":red_circle: pgfleet: backup of tenant-a/billing failed: permission denied",
        ":large_green_circle: pgfleet: resolved backup failed of tenant-a/billing: backup of tenant-a/billing"
            + " completed");
    assertThat(received.get(0).fieldNames()).containsExactly("text");
  }

  @Test
  void retriesOn503ThenDeliversOnce() throws Exception {
    answers.add(503);
    answers.add(429);
    assertThat(await(sender("json", 30).send(failing("billing")))).isEqualTo(1);
    assertThat(received).hasSize(3);
    assertThat(registry.counter("pgfleet.alerts.sent", "webhook", "ops", "kind", "backup_failed", "status",
        "firing").count()).isEqualTo(1.0);
  }

  @Test
  void givesUpAfterFiveAttempts() throws Exception {
    for (int i = 0; i < 10; i++) {
      answers.add(500);
    }
    assertThat(await(sender("json", 30).send(failing("billing")))).isZero();
    assertThat(received).hasSize(WebhookSender.MAX_ATTEMPTS);
  }

  @Test
  void noRetryOn400() throws Exception {
    answers.add(400);
    assertThat(await(sender("json", 30).send(failing("billing")))).isZero();
    assertThat(received).hasSize(1);
  }

  @Test
  void dropsBeyondTheRateLimit() throws Exception {
    WebhookSender s = sender("json", 3);
    for (int i = 0; i < 5; i++) {
      await(s.send(failing("db" + i)));
    }
    assertThat(received).hasSize(3);
    assertThat(s.dropped("ops")).isEqualTo(2);
    assertThat(logs.list).filteredOn(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .extracting(ILoggingEvent::getFormattedMessage)
        .anySatisfy(m -> assertThat(m).contains("webhook ops").contains("rate limit"));
  }

  @Test
  void urlNeverInLogs() throws Exception {
    answers.add(503);
    answers.add(400);
    await(sender("slack", 30).send(failing("billing")));
    // A server that is gone: connection errors, retried, given up.
    WebhookSender gone = new WebhookSender(vertx, List.of(new FleetConfig.Webhook("gone",
        "http://127.0.0.1:1" + SECRET_PATH, null, "slack")), 30, Duration.ofMillis(10), registry);
    assertThat(await(gone.send(failing("billing")))).isZero();
    WebhookSender malformed = new WebhookSender(vertx, List.of(new FleetConfig.Webhook("bad",
        "htp:/nonsense" + SECRET_PATH, null, "json")), 30, Duration.ofMillis(10), registry);
    assertThat(await(malformed.send(failing("billing")))).isZero();
    assertThat(logs.list).isNotEmpty();
    assertThat(logs.list).extracting(ILoggingEvent::getFormattedMessage)
        .allSatisfy(m -> assertThat(m).doesNotContain("s3cr3t").doesNotContain(SECRET_PATH));
    assertThat(logs.list).extracting(ILoggingEvent::getFormattedMessage)
        .anySatisfy(m -> assertThat(m).contains("webhook gone"));
  }
}
