package io.pgfleet.coordinator.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.event.Payloads.WorkerStatus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskDispatcherTest {
  private static WorkerStatus worker(String id, int busy, Integer... partitions) {
    return new WorkerStatus(id, 2, busy, List.of(partitions), System.currentTimeMillis());
  }

  private static String owner(int partition) {
    return partition < 10 ? "w1" : partition < 20 ? "w2" : "w3";
  }

  @Test
  void equallyFreeWorkersTakeTurnsAndAWorkerThatJustJoinedIsPickedFirst() {
    TaskDispatcher d = new TaskDispatcher(null, 0);
    d.onWorkerStatus(worker("w1", 0, 1, 2, 3));
    d.onWorkerStatus(worker("w2", 0, 11, 12, 13));
    List<String> picked = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      int p = d.pickPartition().orElseThrow();
      picked.add(owner(p));
      d.release("none"); // nothing published: the partition stays idle, only the turn moves
    }
    assertThat(picked).containsExactlyInAnyOrder("w1", "w2");

    d.onWorkerStatus(worker("w3", 0, 21, 22));
    assertThat(owner(d.pickPartition().orElseThrow())).as("the new worker").isEqualTo("w3");
  }

  @Test
  void theWorkerWithMoreFreeSlotsComesFirstAndABusyOneGetsNothing() {
    TaskDispatcher d = new TaskDispatcher(null, 0);
    d.onWorkerStatus(worker("w1", 1, 1, 2));
    d.onWorkerStatus(worker("w2", 0, 11, 12));
    assertThat(owner(d.pickPartition().orElseThrow())).isEqualTo("w2");
    d.onWorkerStatus(worker("w1", 2, 1, 2));
    d.onWorkerStatus(worker("w2", 2, 11, 12));
    assertThat(d.pickPartition()).isEmpty();
    assertThat(d.idleSlots()).isZero();
  }
}
