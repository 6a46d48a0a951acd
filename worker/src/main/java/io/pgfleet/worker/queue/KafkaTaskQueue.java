package io.pgfleet.worker.queue;

import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.task.Task;
import io.pgfleet.common.task.TaskCodec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tasks from a classic Kafka consumer group. At most one task per partition is in flight: the partition is paused
 * while its task runs and the consumer keeps polling (heartbeats and {@code max.poll.interval.ms} stay healthy
 * however long a dump takes); when the task ends its offset + 1 is committed and the partition resumed. A worker
 * that dies mid-task never committed it, so the task is delivered again to the partition's next owner.
 *
 * <p>Records for a paused partition may still arrive from the client's buffer, and more tasks may arrive than there
 * are free slots; those wait here, in partition order, uncommitted. Event-loop confined.
 */
public final class KafkaTaskQueue implements TaskQueue {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaTaskQueue.class);

  private final Vertx vertx;
  private final KafkaSettings kafka;
  private final String workerId;
  private final int slots;
  private final boolean staticMembership;
  private final KafkaProducer<String, String> deadLetters;
  private final Map<Integer, Deque<KafkaConsumerRecord<String, String>>> waiting = new HashMap<>();
  private final Set<Integer> running = new HashSet<>();
  /** Partitions whose task still occupies a slot (running tasks whose work, not only their report, goes on). */
  private final Set<Integer> working = new HashSet<>();
  private final Set<Integer> owned = new TreeSet<>();
  private KafkaConsumer<String, String> consumer;
  private TaskRunner runner;
  private Runnable onChange = () -> { };
  private boolean stopping;
  private final Promise<Void> firstAssignment = Promise.promise();

  /**
   * @param staticMembership for a worker whose id survives restarts (a StatefulSet pod): it takes its partitions
   *     back without a rebalance. Not for throwaway ids: a static member does not leave the group on close, so
   *     the group would wait a session timeout for it at every rebalance.
   */
  public KafkaTaskQueue(Vertx vertx, KafkaSettings kafka, String workerId, int slots, boolean staticMembership,
      KafkaProducer<String, String> producer) {
    this.staticMembership = staticMembership;
    this.vertx = vertx;
    this.kafka = kafka;
    this.workerId = workerId;
    this.slots = slots;
    this.deadLetters = producer;
  }

  /** Called when owned partitions or busy slots change, so the worker can announce it at once. */
  public void onChange(Runnable r) {
    this.onChange = r;
  }

  @Override
  public Future<Void> start(TaskRunner runner) {
    this.runner = runner;
    Map<String, String> props = kafka.consumerProperties("pgfleet-" + workerId, Topics.WORKER_GROUP);
    if (staticMembership) {
      props.put("group.instance.id", workerId);
    }
    props.put("partition.assignment.strategy",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
    props.put("auto.offset.reset", "earliest");
    props.put("max.poll.records", "16");
    // Defaults that kafka.properties may override (a faster failover, a test's short timeouts): how long a dead
    // worker's tasks wait before they go to another worker is the session timeout, whatever the tasks' length.
    props.putIfAbsent("session.timeout.ms", "20000");
    try {
      long session = Long.parseLong(props.get("session.timeout.ms").strip());
      props.putIfAbsent("heartbeat.interval.ms", Long.toString(Math.max(500, Math.min(3000, session / 3))));
    } catch (NumberFormatException e) {
      // Not a number: the client refuses it at once, naming the setting.
    }
    // The client polls every 100 ms whatever runs (partitions are paused, never the poll loop), so a member that
    // has not polled for a minute is stuck: let the group drop it then rather than after the default 5 minutes,
    // during which a rebalance would wait for it and no worker would receive tasks.
    props.putIfAbsent("max.poll.interval.ms", "60000");
    consumer = KafkaConsumer.create(vertx, props);
    // Commits, pauses and resumes queue behind the poll on the client's thread: a short poll keeps a finished
    // task's slot from idling for a whole poll interval.
    consumer.pollTimeout(java.time.Duration.ofMillis(100));
    consumer.partitionsAssignedHandler(set -> {
      if (!set.isEmpty()) {
        LOG.info("worker {}: assigned task partitions {}", workerId, partitions(set));
      }
      set.forEach(tp -> owned.add(tp.getPartition()));
      if (!owned.isEmpty()) {
        firstAssignment.tryComplete();
      }
      onChange.run();
    });
    consumer.partitionsRevokedHandler(this::revoked);
    consumer.exceptionHandler(e -> {
      // Closing races the client's poll thread; what it reports then is not news.
      if (!stopping) {
        LOG.warn("worker {}: task consumer: {}", workerId, e.toString());
      }
    });
    consumer.handler(this::received);
    return consumer.subscribe(Topics.TASKS);
  }

  private static Set<Integer> partitions(Set<TopicPartition> set) {
    Set<Integer> out = new TreeSet<>();
    set.forEach(tp -> out.add(tp.getPartition()));
    return out;
  }

  private void revoked(Set<TopicPartition> partitions) {
    if (!partitions.isEmpty()) {
      LOG.info("worker {}: task partitions {} revoked", workerId, partitions(partitions));
    }
    for (TopicPartition tp : partitions) {
      owned.remove(tp.getPartition());
      // Not committed: the partition's next owner receives these again.
      Deque<KafkaConsumerRecord<String, String>> q = waiting.remove(tp.getPartition());
      if (q != null && !q.isEmpty()) {
        LOG.info("worker {}: partition {} revoked with {} waiting tasks; they go to its next owner", workerId,
            tp.getPartition(), q.size());
      }
    }
    onChange.run();
  }

  private void received(KafkaConsumerRecord<String, String> r) {
    LOG.debug("worker {}: received {}-{}", workerId, r.partition(), r.offset());
    consumer.pause(new TopicPartition(r.topic(), r.partition()));
    waiting.computeIfAbsent(r.partition(), p -> new ArrayDeque<>()).add(r);
    startWaiting();
  }

  /** Starts waiting tasks on idle partitions while slots are free. */
  private void startWaiting() {
    if (stopping) {
      return;
    }
    for (Map.Entry<Integer, Deque<KafkaConsumerRecord<String, String>>> e : new ArrayList<>(waiting.entrySet())) {
      if (working.size() >= slots) {
        return;
      }
      int partition = e.getKey();
      if (running.contains(partition) || e.getValue().isEmpty()) {
        continue;
      }
      KafkaConsumerRecord<String, String> r = e.getValue().poll();
      LOG.debug("worker {}: starting {}-{}", workerId, partition, r.offset());
      running.add(partition);
      working.add(partition);
      Runnable slotFree = () -> {
        if (working.remove(partition)) {
          startWaiting();
          onChange.run();
        }
      };
      Future<Void> done;
      try {
        Task task = TaskCodec.decode(r.value());
        done = runner.run(task, new Delivery(partition, r.offset(), slotFree))
            .recover(err -> {
              LOG.error("worker {}: task at {}-{} ended abnormally: {}", workerId, partition, r.offset(),
                  err.toString());
              return Future.succeededFuture();
            });
      } catch (TaskCodec.InvalidTaskException bad) {
        done = deadLetter(r, bad.getMessage());
      }
      done.onComplete(x -> ended(r));
    }
  }

  private Future<Void> deadLetter(KafkaConsumerRecord<String, String> r, String reason) {
    LOG.error("worker {}: unreadable task at {}-{} sent to {}: {}", workerId, r.partition(), r.offset(),
        Topics.DEAD_LETTER, reason);
    KafkaProducerRecord<String, String> dl = KafkaProducerRecord.create(Topics.DEAD_LETTER, r.key(), r.value());
    dl.addHeader("pgfleet-dlq-reason", reason);
    dl.addHeader("pgfleet-dlq-source", r.topic() + "-" + r.partition() + "@" + r.offset());
    return deadLetters.send(dl).mapEmpty();
  }

  private void ended(KafkaConsumerRecord<String, String> r) {
    int partition = r.partition();
    LOG.debug("worker {}: ended {}-{}", workerId, partition, r.offset());
    running.remove(partition);
    working.remove(partition);
    if (stopping) {
      // The consumer is closed or closing: a commit or resume now would schedule a poll on its terminated thread
      // (an unhandled RejectedExecutionException). Not committed: the task is delivered again to the group.
      return;
    }
    // A task already waiting here on another partition starts now: the commit waits for the client's current poll.
    startWaiting();
    // Announce the free slot now rather than after the commit: the coordinator may publish the next task
    // meanwhile; it is fetched once the partition resumes.
    onChange.run();
    TopicPartition tp = new TopicPartition(r.topic(), partition);
    consumer.commit(Map.of(tp, new OffsetAndMetadata(r.offset() + 1, workerId)))
        .onFailure(e -> LOG.warn("worker {}: commit of {}-{}@{} failed (the task may run again): {}", workerId,
            r.topic(), partition, r.offset(), e.toString()))
        .onComplete(x -> {
          if (stopping) {
            return;
          }
          Deque<KafkaConsumerRecord<String, String>> q = waiting.get(partition);
          if ((q == null || q.isEmpty()) && owned.contains(partition)) {
            consumer.resume(tp);
          }
          startWaiting();
          onChange.run();
        });
  }

  /** Completes once the group has given this worker its first partitions. */
  public Future<Void> assigned() {
    return firstAssignment.future();
  }

  @Override
  public List<Integer> owned() {
    return List.copyOf(owned);
  }

  @Override
  public int busy() {
    return working.size() + waiting.values().stream().mapToInt(Deque::size).sum();
  }

  /** Refreshes the owned partitions from the client (the rebalance callbacks are incremental). */
  public Future<Void> refreshAssignment() {
    if (consumer == null) {
      return Future.succeededFuture();
    }
    return consumer.assignment().map(set -> {
      owned.clear();
      set.forEach(tp -> owned.add(tp.getPartition()));
      return null;
    });
  }

  @Override
  public Future<Void> stop() {
    stopping = true;
    return consumer == null ? Future.succeededFuture() : consumer.close();
  }
}
