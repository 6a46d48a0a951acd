package io.pgfleet.common.event;

/** The event types pgfleet emits on {@code pgfleet.events}; docs/events.md describes each payload. */
public final class EventTypes {
  public static final String BACKUP_SCHEDULED = "io.pgfleet.backup.scheduled";
  public static final String BACKUP_STARTED = "io.pgfleet.backup.started";
  public static final String BACKUP_COMPLETED = "io.pgfleet.backup.completed";
  public static final String BACKUP_FAILED = "io.pgfleet.backup.failed";
  public static final String TASK_STARTED = "io.pgfleet.task.started";
  public static final String TASK_PROGRESS = "io.pgfleet.task.progress";
  public static final String TASK_COMPLETED = "io.pgfleet.task.completed";
  public static final String TASK_FAILED = "io.pgfleet.task.failed";
  public static final String RETENTION_DELETED = "io.pgfleet.retention.deleted";
  public static final String ALERT = "io.pgfleet.alert";
  public static final String RESTORE_TEST_PASSED = "io.pgfleet.restore_test.passed";
  public static final String RESTORE_TEST_FAILED = "io.pgfleet.restore_test.failed";

  private EventTypes() {}
}
