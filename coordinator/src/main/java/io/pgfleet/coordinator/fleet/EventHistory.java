package io.pgfleet.coordinator.fleet;

import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.event.Payloads;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runs the events topic tells of, read back when a coordinator becomes the leader: which ended (completed or
 * failed) and which only started. A run that started and never ended was left by a coordinator that died or lost
 * its leadership mid-run; the new leader must end it explicitly. Blocking; reads the last {@code window} of the
 * topic only.
 */
final class EventHistory {
  private static final Logger LOG = LoggerFactory.getLogger(EventHistory.class);

  /**
   * @param scheduled the run's {@code backup.scheduled} event, or null (a run of the CLI, or scheduled before the
   *     window)
   * @param startedAt null while the run was only queued
   * @param endType the terminal event's type, null while the run has not ended
   */
  record RunTrace(String runId, String cluster, String database, Payloads.BackupScheduled scheduled,
      String backupId, Instant startedAt, String endType, Instant endedAt, String reason, String category) {
    boolean open() {
      return endType == null;
    }

    String databaseKey() {
      return cluster + "/" + database;
    }
  }

  /**
   * @param runs every run with an event in the window, in the order of their first event
   * @param restoreTestsPassed per {@code cluster/database}, the time of its last {@code restore_test.passed} event
   */
  record History(List<RunTrace> runs, Map<String, Instant> restoreTestsPassed) {}

  private EventHistory() {}

  /** The runs and passed restore tests the events of the window tell of. */
  static History replay(KafkaSettings kafka, Duration window) {
    Properties p = new Properties();
    p.putAll(kafka.consumerProperties("pgfleet-coordinator-history", null));
    Map<String, RunTrace> runs = new LinkedHashMap<>();
    Map<String, Instant> restoreTestsPassed = new HashMap<>();
    long events = 0;
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (PartitionInfo pi : c.partitionsFor(Topics.EVENTS, Duration.ofSeconds(30))) {
        parts.add(new TopicPartition(pi.topic(), pi.partition()));
      }
      c.assign(parts);
      Map<TopicPartition, Long> since = new HashMap<>();
      long from = System.currentTimeMillis() - window.toMillis();
      parts.forEach(tp -> since.put(tp, from));
      Map<TopicPartition, OffsetAndTimestamp> starts = c.offsetsForTimes(since, Duration.ofSeconds(30));
      Map<TopicPartition, Long> ends = c.endOffsets(parts, Duration.ofSeconds(30));
      for (TopicPartition tp : parts) {
        OffsetAndTimestamp o = starts.get(tp);
        c.seek(tp, o == null ? ends.get(tp) : o.offset());
      }
      while (parts.stream().anyMatch(tp -> c.position(tp, Duration.ofSeconds(30)) < ends.get(tp))) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          events++;
          String v = r.value();
          if (v == null || !v.contains("io.pgfleet.backup.") && !v.contains(EventTypes.RESTORE_TEST_PASSED)) {
            continue;
          }
          try {
            CloudEvent e = Json.read(v, CloudEvent.class);
            if (EventTypes.RESTORE_TEST_PASSED.equals(e.type())) {
              restoreTestsPassed.merge(e.subject(), e.time(), (a, b) -> a.isAfter(b) ? a : b);
              continue;
            }
            apply(runs, e);
          } catch (Exception e) {
            LOG.warn("event history: skipping unreadable record {}-{}@{}: {}", r.topic(), r.partition(),
                r.offset(), e.toString());
          }
        }
      }
    }
    LOG.info("event history: {} events read, {} runs, {} without an end", events, runs.size(),
        runs.values().stream().filter(RunTrace::open).count());
    return new History(new ArrayList<>(runs.values()), restoreTestsPassed);
  }

  private static void apply(Map<String, RunTrace> runs, CloudEvent e) {
    if (e.runid() == null || e.subject() == null) {
      return;
    }
    int slash = e.subject().indexOf('/');
    if (slash < 0) {
      return;
    }
    String cluster = e.subject().substring(0, slash);
    String database = e.subject().substring(slash + 1);
    RunTrace t = runs.get(e.runid());
    switch (e.type()) {
      case EventTypes.BACKUP_SCHEDULED -> {
        if (t == null) {
          runs.put(e.runid(), new RunTrace(e.runid(), cluster, database, e.dataAs(Payloads.BackupScheduled.class),
              null, null, null, null, null, null));
        }
      }
      case EventTypes.BACKUP_STARTED -> {
        if (t == null || t.startedAt() == null) {
          runs.put(e.runid(), new RunTrace(e.runid(), cluster, database, t == null ? null : t.scheduled(),
              e.backupid(), e.time(), null, null, null, null));
        }
      }
      case EventTypes.BACKUP_COMPLETED, EventTypes.BACKUP_FAILED -> {
        Payloads.BackupFailed f = EventTypes.BACKUP_FAILED.equals(e.type())
            ? e.dataAs(Payloads.BackupFailed.class) : null;
        runs.put(e.runid(), new RunTrace(e.runid(), cluster, database, t == null ? null : t.scheduled(),
            e.backupid(), t == null ? null : t.startedAt(), e.type(), e.time(), f == null ? null : f.reason(),
            f == null ? null : f.category()));
      }
      default -> { }
    }
  }
}
