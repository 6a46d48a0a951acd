package io.pgfleet.common.event;

import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.Topics;
import io.vertx.core.Future;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;

/**
 * Sends CloudEvents to {@code pgfleet.events}, keyed by {@code cluster/database} so one database's events stay in
 * order on one partition.
 */
public final class EventPublisher {
  private final KafkaProducer<String, String> producer;
  private final String source;

  public EventPublisher(KafkaProducer<String, String> producer, String source) {
    this.producer = producer;
    this.source = source;
  }

  public String source() {
    return source;
  }

  public Future<Void> publish(String type, String cluster, String database, String runId, String backupId,
      String taskId, Object data) {
    CloudEvent e = CloudEvent.of(source, type, cluster, database, runId, backupId, taskId, data);
    KafkaProducerRecord<String, String> r =
        KafkaProducerRecord.create(Topics.EVENTS, e.subject(), Json.write(e));
    r.addHeader("content-type", "application/cloudevents+json; charset=UTF-8");
    return producer.send(r).mapEmpty();
  }
}
