package io.pgfleet.common.task;

/**
 * The cluster's global objects, as {@code pg_dumpall --globals-only --no-role-passwords} prints them: roles (with
 * their attributes, settings and memberships, never their passwords) and tablespaces. They belong to the cluster,
 * not the database, and pg_dumpall takes no snapshot: they are read when the task runs, not at the run's snapshot.
 */
public record GlobalsTask(TaskHeader header, int serverVersionNum) implements Task {
  public static final String KIND = "globals";

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String describe() {
    return "globals of cluster " + header.cluster();
  }

  @Override
  public GlobalsTask withAttempt(int attempt) {
    return new GlobalsTask(header.withAttempt(attempt), serverVersionNum);
  }

  @Override
  public GlobalsTask withEncryption(io.pgfleet.common.manifest.BackupEncryption encryption) {
    return new GlobalsTask(header.withEncryption(encryption), serverVersionNum);
  }
}
