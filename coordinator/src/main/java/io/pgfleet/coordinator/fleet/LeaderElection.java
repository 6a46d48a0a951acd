package io.pgfleet.coordinator.fleet;

import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly one coordinator schedules: the member of the consumer group {@value #GROUP} that owns the single
 * partition of {@link Topics#COORDINATORS}. Kafka's group protocol gives that partition to one member at a time;
 * when the leader stops it leaves the group and another member is assigned the partition at once, and when it dies
 * the broker gives the partition away after {@code session.timeout.ms}. No record is ever written to the topic:
 * it exists only to be owned.
 *
 * <p>A leader that stalls longer than the session timeout (a long GC pause, a network partition) may for a moment
 * believe it still leads while another has taken over; its next poll revokes the partition and it steps down,
 * failing its runs explicitly. Two leaders for a few seconds cost duplicate work, never a corrupt backup: backup
 * ids are unique and manifests are committed only if absent.
 */
final class LeaderElection {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderElection.class);
  static final String GROUP = Topics.COORDINATOR_GROUP;

  private final Vertx vertx;
  private final KafkaSettings kafka;
  private final String instanceId;
  private final Duration sessionTimeout;
  private KafkaConsumer<String, String> consumer;
  private boolean leader;

  LeaderElection(Vertx vertx, KafkaSettings kafka, String instanceId, Duration sessionTimeout) {
    this.vertx = vertx;
    this.kafka = kafka;
    this.instanceId = instanceId;
    this.sessionTimeout = sessionTimeout;
  }

  /** Joins the election; {@code onChange} gets true when this instance becomes leader, false when it stops being. */
  Future<Void> start(Consumer<Boolean> onChange) {
    Map<String, String> p = kafka.consumerProperties("pgfleet-coordinator-" + instanceId, GROUP);
    p.put("session.timeout.ms", Long.toString(sessionTimeout.toMillis()));
    p.put("heartbeat.interval.ms", Long.toString(Math.max(500, sessionTimeout.toMillis() / 5)));
    p.put("auto.offset.reset", "latest");
    // Cooperative: a coordinator joining does not make the leader give up the partition for a moment (an eager
    // rebalance would, failing its runs).
    p.put("partition.assignment.strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
    consumer = KafkaConsumer.create(vertx, p);
    consumer.pollTimeout(Duration.ofMillis(200));
    consumer.handler(r -> { });
    consumer.exceptionHandler(e -> LOG.warn("leader election: {}", e.toString()));
    consumer.partitionsAssignedHandler(parts -> {
      if (!parts.isEmpty() && !leader) {
        leader = true;
        LOG.info("coordinator {} is now the leader: it schedules and runs backups", instanceId);
        onChange.accept(true);
      }
    });
    consumer.partitionsRevokedHandler(parts -> {
      if (!parts.isEmpty() && leader) {
        leader = false;
        LOG.warn("coordinator {} is no longer the leader: it stops scheduling", instanceId);
        onChange.accept(false);
      }
    });
    return consumer.subscribe(Topics.COORDINATORS);
  }

  boolean leader() {
    return leader;
  }

  Future<Void> stop() {
    return consumer == null ? Future.succeededFuture() : consumer.close();
  }
}
