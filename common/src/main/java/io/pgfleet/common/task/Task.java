package io.pgfleet.common.task;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * One unit of work on the task topic. A task carries names and the snapshot id, never a credential: a worker
 * resolves the cluster name to a connection from its own configuration.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
  @JsonSubTypes.Type(value = SchemaTask.class, name = SchemaTask.KIND),
  @JsonSubTypes.Type(value = TableDataTask.class, name = TableDataTask.KIND),
  @JsonSubTypes.Type(value = GlobalsTask.class, name = GlobalsTask.KIND),
  @JsonSubTypes.Type(value = ArchiveTask.class, name = ArchiveTask.KIND)
})
public sealed interface Task permits SchemaTask, TableDataTask, GlobalsTask, ArchiveTask {
  TaskHeader header();

  /** The kind as it appears on the wire and in events. */
  String kind();

  /** What this task dumps, for progress lines and errors. */
  String describe();

  Task withAttempt(int attempt);

  /** The same task carrying its backup's wrapped data key (see {@link TaskHeader#encryption()}). */
  Task withEncryption(io.pgfleet.common.manifest.BackupEncryption encryption);
}
