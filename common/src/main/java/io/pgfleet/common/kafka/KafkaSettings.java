package io.pgfleet.common.kafka;

import java.util.HashMap;
import java.util.Map;

/**
 * How to reach Kafka: bootstrap servers plus any client properties (TLS, SASL) passed through as they are.
 * Secret-bearing properties (sasl.jaas.config, ssl passwords) stay in this object and are never logged.
 */
public record KafkaSettings(String bootstrapServers, Map<String, String> extra) {
  public KafkaSettings {
    extra = Map.copyOf(extra);
  }

  public static KafkaSettings of(String bootstrapServers) {
    return new KafkaSettings(bootstrapServers, Map.of());
  }

  public Map<String, String> clientProperties() {
    Map<String, String> p = new HashMap<>(extra);
    p.put("bootstrap.servers", bootstrapServers);
    return p;
  }

  public Map<String, String> producerProperties(String clientId) {
    Map<String, String> p = clientProperties();
    p.put("client.id", clientId);
    p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    p.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    p.put("acks", "all");
    p.put("enable.idempotence", "true");
    // Tasks and events are small and latency bounds a run of many small tables: send at once.
    p.put("linger.ms", "0");
    return p;
  }

  public Map<String, String> consumerProperties(String clientId, String groupId) {
    Map<String, String> p = clientProperties();
    p.put("client.id", clientId);
    if (groupId != null) {
      p.put("group.id", groupId);
    }
    p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("enable.auto.commit", "false");
    return p;
  }
}
