package io.pgfleet.coordinator.alerting;

import io.micrometer.core.instrument.Metrics;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventPublisher;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Alerting while this coordinator leads: reads {@code pgfleet.events} from its end (its own consumer, no group),
 * feeds the {@link AlertEngine}, checks schedules every few seconds, and hands each notification to the
 * {@link WebhookSender}; each notification a webhook accepted is said on the event stream as {@code io.pgfleet.alert}.
 * Start and stop it on the fleet coordinator's context: everything here runs there.
 */
public final class Alerting {
  private static final Logger LOG = LoggerFactory.getLogger(Alerting.class);
  static final long CHECK_MILLIS = 2000;
  /** How many sent notifications {@link #recent()} keeps, for the API and the dashboard. */
  public static final int RECENT = 100;

  private final Vertx vertx;
  private final KafkaSettings kafka;
  private final FleetConfig.Alerts config;
  private final EventPublisher events;
  private final AlertEngine engine;
  private final WebhookSender sender;
  private KafkaConsumer<String, String> consumer;
  private long timer = -1;
  private boolean stopped;
  /** The last {@link #RECENT} notifications, oldest first; touched on the coordinator's context only. */
  private final ArrayDeque<AlertEngine.Notification> recent = new ArrayDeque<>(RECENT);

  public Alerting(Vertx vertx, KafkaSettings kafka, FleetConfig.Alerts config, ScheduledDatabases fleet,
      EventPublisher events) {
    this.vertx = vertx;
    this.kafka = kafka;
    this.config = config;
    this.events = events;
    this.engine = new AlertEngine(Clock.systemUTC(), config.missedGrace(), config.dedupWindow(), fleet);
    this.sender = new WebhookSender(vertx, config.webhooks(), config.maxPerMinute(), Duration.ofSeconds(1),
        Metrics.globalRegistry);
  }

  /** Starts reading events from now on; completes once positioned. */
  public Future<Void> start() {
    return vertx.executeBlocking(this::endOffsets, false).compose(ends -> {
      if (stopped) {
        return Future.succeededFuture();
      }
      Map<String, String> props = kafka.consumerProperties("pgfleet-alerting-" + UUID.randomUUID(), null);
      props.put("auto.offset.reset", "latest");
      consumer = KafkaConsumer.create(vertx, props);
      consumer.pollTimeout(Duration.ofMillis(200));
      consumer.handler(this::onRecord);
      consumer.exceptionHandler(e -> LOG.warn("alerting: event consumer: {}", e.toString()));
      return consumer.assign(ends.keySet()).compose(x -> {
        List<Future<Void>> seeks = new ArrayList<>();
        ends.forEach((tp, off) -> seeks.add(consumer.seek(tp, off)));
        return Future.all(seeks);
      }).onSuccess(x -> {
        timer = vertx.setPeriodic(CHECK_MILLIS, id -> dispatch(engine.check(java.time.Instant.now())));
        LOG.info("alerting: started, {} webhook(s): {}", config.webhooks().size(),
            config.webhooks().stream().map(FleetConfig.Webhook::name).toList());
      }).mapEmpty();
    });
  }

  public Future<Void> stop() {
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    Future<Void> c = consumer == null ? Future.succeededFuture() : consumer.close();
    return c.eventually(sender::close);
  }

  /**
   * The notifications handed to the webhooks most recently (at most {@link #RECENT}), newest first, whether or not a
   * webhook accepted them. Call on the coordinator's context.
   */
  public List<AlertEngine.Notification> recent() {
    List<AlertEngine.Notification> out = new ArrayList<>(recent);
    Collections.reverse(out);
    return out;
  }

  private Map<TopicPartition, Long> endOffsets() throws Exception {
    Map<TopicPartition, Long> out = new HashMap<>();
    Topics.endOffsets(kafka, List.of(Topics.EVENTS)).forEach((tp, end) -> out.put(
        new TopicPartition(tp.topic(), tp.partition()), end));
    return out;
  }


  private void onRecord(KafkaConsumerRecord<String, String> record) {
    String v = record.value();
    // Most events are task progress; only these few types can change an alert.
    if (stopped || v == null || !(v.contains("io.pgfleet.backup.") || v.contains("io.pgfleet.restore_test."))) {
      return;
    }
    try {
      dispatch(engine.onEvent(Json.read(v, CloudEvent.class)));
    } catch (Exception e) {
      LOG.warn("alerting: ignoring unreadable record {}-{}@{}: {}", record.topic(), record.partition(),
          record.offset(), e.toString());
    }
  }

  private void dispatch(List<AlertEngine.Notification> notifications) {
    if (stopped) {
      return;
    }
    for (AlertEngine.Notification n : notifications) {
      LOG.info("alert {} {} for {}: {}", n.kind().wire(), n.status().wire(), n.subject(), n.summary());
      if (recent.size() == RECENT) {
        recent.removeFirst();
      }
      recent.addLast(n);
      sender.send(n).onSuccess(accepted -> {
        if (accepted > 0) {
          events.publish(EventTypes.ALERT, n.cluster(), n.database(), null, null, null,
              new Payloads.Alert(n.kind().wire(), n.status().wire(), n.summary(), n.alertId()));
        }
      });
    }
  }
}
