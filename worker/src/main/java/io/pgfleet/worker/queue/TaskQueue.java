package io.pgfleet.worker.queue;

import io.pgfleet.common.task.Task;
import io.vertx.core.Future;
import java.util.List;

/**
 * Where a worker gets its tasks: the one seam between the worker and the transport, so the classic consumer group
 * used today can give way to another queue (share groups, once usable) without touching the executors.
 */
public interface TaskQueue {

  /** Runs one task to its end; the queue acknowledges the task only after the returned future completes. */
  interface TaskRunner {
    Future<Void> run(Task task, Delivery delivery);
  }

  /**
   * Where a task came from, for events and logs.
   *
   * @param slotFree to call once the task's work is done and only its report remains: the queue may start the next
   *     task in that slot then, while the task itself is acknowledged only when its future completes
   */
  record Delivery(int partition, long offset, Runnable slotFree) {}

  Future<Void> start(TaskRunner runner);

  /** Partitions (or lanes) this worker currently owns, for its heartbeat. */
  List<Integer> owned();

  /** Tasks holding a slot or waiting for one (a task whose work is done and only its report remains holds none). */
  int busy();

  Future<Void> stop();
}
