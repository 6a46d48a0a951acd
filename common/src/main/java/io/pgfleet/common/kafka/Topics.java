package io.pgfleet.common.kafka;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The topics and their shapes. The task topic has many partitions (2-4x the fleet's worker slots): a worker runs
 * at most one task per partition, so partitions bound parallelism.
 */
public final class Topics {
  public static final String TASKS = "pgfleet.tasks";
  public static final String EVENTS = "pgfleet.events";
  public static final String WORKERS = "pgfleet.workers";
  public static final String DEAD_LETTER = "pgfleet.tasks.dlq";
  public static final String WORKER_GROUP = "pgfleet-workers";
  /** One partition, never written: the coordinator whose group member owns it is the leader. */
  public static final String COORDINATORS = "pgfleet.coordinators";
  /** The consumer group of fleet coordinators on {@link #COORDINATORS}. */
  public static final String COORDINATOR_GROUP = "pgfleet-coordinators";

  private Topics() {}

  public record Layout(int taskPartitions, int eventPartitions, short replication) {}

  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  public static void ensure(KafkaSettings kafka, Layout layout) {
    Properties p = new Properties();
    p.putAll(kafka.clientProperties());
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
    try (Admin admin = Admin.create(p)) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      Map<String, String> compacted = new HashMap<>();
      compacted.put("cleanup.policy", "compact");
      compacted.put("min.compaction.lag.ms", "60000");
      add(missing, existing, new NewTopic(TASKS, layout.taskPartitions(), layout.replication()));
      add(missing, existing, new NewTopic(EVENTS, layout.eventPartitions(), layout.replication()));
      add(missing, existing, new NewTopic(DEAD_LETTER, 1, layout.replication()));
      add(missing, existing, new NewTopic(WORKERS, 1, layout.replication()).configs(compacted));
      add(missing, existing, new NewTopic(COORDINATORS, 1, layout.replication()));
      if (!missing.isEmpty()) {
        try {
          admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating Kafka topics", e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot create pgfleet topics on Kafka at " + kafka.bootstrapServers() + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * The end offset of every partition of the topics, from the admin client (blocking): where a reader that only
   * cares about what happens from now on starts.
   */
  public static Map<org.apache.kafka.common.TopicPartition, Long> endOffsets(KafkaSettings kafka,
      java.util.Collection<String> topics) throws Exception {
    Properties p = new Properties();
    p.putAll(kafka.clientProperties());
    try (Admin admin = Admin.create(p)) {
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> specs = new HashMap<>();
      admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values().forEach(t -> t.partitions()
          .forEach(pi -> specs.put(new org.apache.kafka.common.TopicPartition(t.name(), pi.partition()),
              org.apache.kafka.clients.admin.OffsetSpec.latest())));
      Map<org.apache.kafka.common.TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(specs).all().get(30, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
      return ends;
    }
  }

  /** How many members the consumer group has now (0 for a group that is empty or unknown to the broker). */
  public static int groupMembers(KafkaSettings kafka, String group) throws Exception {
    Properties p = new Properties();
    p.putAll(kafka.clientProperties());
    try (Admin admin = Admin.create(p)) {
      return admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group).members()
          .size();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException) {
        return 0;
      }
      throw e;
    }
  }

  private static void add(List<NewTopic> missing, Set<String> existing, NewTopic t) {
    if (!existing.contains(t.name())) {
      missing.add(t);
    }
  }
}
