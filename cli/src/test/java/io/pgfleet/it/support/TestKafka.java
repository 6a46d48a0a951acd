package io.pgfleet.it.support;

import io.pgfleet.cli.standalone.EmbeddedKafka;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.time.Duration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/** The one in-JVM KRaft broker the ITs share (started once per test JVM), and a way to read a topic whole. */
public final class TestKafka {
  private static EmbeddedKafka broker;

  private TestKafka() {}

  public static synchronized String bootstrapServers() {
    if (broker == null) {
      try {
        broker = EmbeddedKafka.start();
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the in-JVM Kafka broker for tests", e);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          broker.close();
        } catch (Exception ignored) {
          // JVM exit
        }
      }));
    }
    return broker.bootstrapServers();
  }

  /** Every record of a topic, from the beginning to its current end. */
  public static List<ConsumerRecord<String, String>> readAll(String topic) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers());
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      long deadline = System.currentTimeMillis() + 30_000;
      while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.currentTimeMillis() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }
}
