package io.pgfleet.it.support;

import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Every event on {@code pgfleet.events} of one broker, read from the beginning by a background consumer as an
 * external service would, and kept for assertions.
 */
public final class EventLog implements AutoCloseable {
  private final List<CloudEvent> events = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean stop;

  public EventLog(String bootstrapServers) {
    thread = new Thread(() -> read(bootstrapServers), "it-event-log");
    thread.setDaemon(true);
    thread.start();
  }

  private void read(String bootstrapServers) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers);
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      while (parts.isEmpty() && !stop) {
        c.listTopics(Duration.ofSeconds(10)).getOrDefault(Topics.EVENTS, List.of())
            .forEach(i -> parts.add(new TopicPartition(i.topic(), i.partition())));
        if (parts.isEmpty()) {
          sleep(200);
        }
      }
      c.assign(parts);
      c.seekToBeginning(parts);
      while (!stop) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
          try {
            events.add(Json.read(r.value(), CloudEvent.class));
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("unreadable event at " + r.partition() + "@" + r.offset(), e);
          }
        }
      }
    }
  }

  public List<CloudEvent> all() {
    return List.copyOf(events);
  }

  public List<CloudEvent> matching(Predicate<CloudEvent> p) {
    return events.stream().filter(p).toList();
  }

  /** Waits until {@code condition} holds over the events seen so far; fails with {@code what} after the timeout. */
  public void await(String what, Duration timeout, Predicate<List<CloudEvent>> condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.test(all())) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
      }
      sleep(100);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(5000);
  }

  /** The most intervals open at once; at equal instants an end counts before a start. */
  public static int maxOverlap(List<Instant[]> intervals) {
    List<Object[]> points = new ArrayList<>();
    for (Instant[] i : intervals) {
      points.add(new Object[] {i[0], 1});
      points.add(new Object[] {i[1], -1});
    }
    points.sort(Comparator.<Object[], Instant>comparing(p -> (Instant) p[0]).thenComparing(p -> (Integer) p[1]));
    int open = 0;
    int max = 0;
    for (Object[] p : points) {
      open += (Integer) p[1];
      max = Math.max(max, open);
    }
    return max;
  }
}
