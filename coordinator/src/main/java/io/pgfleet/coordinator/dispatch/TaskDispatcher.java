package io.pgfleet.coordinator.dispatch;

import io.pgfleet.common.event.Payloads.WorkerStatus;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.task.Task;
import io.pgfleet.common.task.TaskCodec;
import io.vertx.core.Future;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Publishes each task to an idle partition owned by a worker with a free slot.
 *
 * <p>With a classic consumer group a partition belongs to one worker, and a worker runs one task per partition at a
 * time; a task published to a busy worker's partition would wait behind a long dump while others idle. So the
 * dispatcher learns each worker's partitions and free slots from its heartbeats on {@code pgfleet.workers}, counts
 * the tasks it has in flight per partition, and only publishes where a slot is free.
 *
 * <p>Each worker also gets {@code prefetch} tasks beyond its slots: they wait on the worker, their partitions paused,
 * and start the moment a slot frees, instead of after a round trip through the coordinator and the broker (which
 * costs tens of milliseconds per task, seconds over a database of many small tables). Event-loop confined.
 */
public final class TaskDispatcher {
  private static final long STALE_MILLIS = 15_000;
  /**
   * Tasks queued on each worker beyond its slots. A small table's task takes 5-15 ms here while the round trip
   * from its completion to the next task's arrival takes 20-40 ms, so one queued task is not enough to keep a
   * slot busy; four are. Tasks go out largest first, so what waits at the end of a run is small.
   */
  public static final int PREFETCH = 4;

  private final KafkaProducer<String, String> producer;
  private final int prefetch;
  private final Map<String, Seen> workers = new HashMap<>();
  private final Map<Integer, String> inFlight = new HashMap<>();
  private final Map<String, Integer> partitionOf = new HashMap<>();
  private final Map<Integer, Long> releasedAt = new HashMap<>();
  private final Map<String, Long> lastPickedAt = new HashMap<>();

  private record Seen(WorkerStatus status, long receivedAt) {}

  public TaskDispatcher(KafkaProducer<String, String> producer, int prefetch) {
    this.producer = producer;
    this.prefetch = prefetch;
  }

  public void onWorkerStatus(WorkerStatus s) {
    workers.put(s.workerId(), new Seen(s, System.currentTimeMillis()));
  }

  /** Workers heard from recently. */
  public List<WorkerStatus> liveWorkers() {
    long now = System.currentTimeMillis();
    workers.values().removeIf(w -> now - w.receivedAt() > STALE_MILLIS);
    return workers.values().stream().map(Seen::status).toList();
  }

  public int freeSlots() {
    return liveWorkers().stream().mapToInt(this::free).sum();
  }

  /**
   * Slots of live workers with no task running or queued on them (prefetch not counted): what a new run could
   * start on right away.
   */
  public int idleSlots() {
    return liveWorkers().stream().mapToInt(w -> {
      long ours = w.partitions().stream().filter(inFlight::containsKey).count();
      return (int) Math.max(0, w.slots() - Math.max(ours, w.busy()));
    }).sum();
  }

  private int free(WorkerStatus w) {
    long ours = w.partitions().stream().filter(inFlight::containsKey).count();
    return (int) Math.max(0, w.slots() + prefetch - Math.max(ours, w.busy()));
  }

  /**
   * True when the task's partition belongs to a live worker whose slots are all taken: a task published there
   * waits its turn on that worker, which is no reason to give up on it however long the running tasks take.
   */
  public boolean queuedBehindBusyWorker(String taskId) {
    Integer p = partitionOf.get(taskId);
    if (p == null) {
      return false;
    }
    return liveWorkers().stream().anyMatch(w -> w.partitions().contains(p) && w.busy() >= w.slots());
  }

  /**
   * An idle partition of the worker with the most free slots, if any worker has one; between workers as free as
   * each other, the one given a task longest ago (a worker that just joined, never), so work spreads over all of
   * them and a new worker takes work at once.
   */
  public Optional<Integer> pickPartition() {
    List<WorkerStatus> candidates = new ArrayList<>(liveWorkers());
    candidates.sort(Comparator.comparingInt(this::free).reversed()
        .thenComparingLong((WorkerStatus w) -> lastPickedAt.getOrDefault(w.workerId(), Long.MIN_VALUE))
        .thenComparing(WorkerStatus::workerId));
    for (WorkerStatus w : candidates) {
      if (free(w) <= 0) {
        continue;
      }
      // The partition idle longest: one just released is still paused on the worker until its commit and
      // resume go through, and a task sent there would wait for them.
      Optional<Integer> idle = w.partitions().stream().filter(p -> !inFlight.containsKey(p))
          .min(Comparator.comparingLong((Integer p) -> releasedAt.getOrDefault(p, Long.MIN_VALUE)).thenComparing(p -> p));
      if (idle.isPresent()) {
        lastPickedAt.put(w.workerId(), System.nanoTime());
        return idle;
      }
    }
    return Optional.empty();
  }

  public Future<Void> publish(Task task, int partition) {
    String id = task.header().taskId();
    org.slf4j.LoggerFactory.getLogger(TaskDispatcher.class).debug("publishing {} to {}", id, partition);
    inFlight.put(partition, id);
    partitionOf.put(id, partition);
    KafkaProducerRecord<String, String> r =
        KafkaProducerRecord.create(Topics.TASKS, task.header().database(), TaskCodec.encode(task), partition);
    r.addHeader("pgfleet-attempt", Integer.toString(task.header().attempt()));
    r.addHeader("pgfleet-kind", task.kind());
    return producer.send(r).onFailure(e -> release(id)).mapEmpty();
  }

  /** The task ended (completed, failed, or its run was abandoned): its partition is idle again. */
  public void release(String taskId) {
    Integer p = partitionOf.remove(taskId);
    if (p != null && taskId.equals(inFlight.get(p))) {
      inFlight.remove(p);
      releasedAt.put(p, System.nanoTime());
    }
  }
}
