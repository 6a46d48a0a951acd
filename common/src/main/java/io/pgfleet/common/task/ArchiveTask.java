package io.pgfleet.common.task;

import java.util.List;
import java.util.Objects;

/**
 * A whole database as one pg_dump archive (plain, custom or directory format) taken under the run's snapshot,
 * with pg_dump's own selection flags: the archive mode, for users who restore with psql and pg_restore as they
 * always have. The header's object key is the archive's name without the execution id; the worker writes
 * {@code archive.<exec>.sql}, {@code archive.<exec>.dump} or the files of {@code archive.<exec>/}.
 *
 * @param args checked by {@link ArchiveOptions} on construction, so also on every decode from Kafka
 */
public record ArchiveTask(TaskHeader header, int serverVersionNum, String format, int jobs, List<String> args)
    implements Task {
  public static final String KIND = "pg-dump-archive";

  public ArchiveTask {
    Objects.requireNonNull(header, "header");
    ArchiveOptions checked = new ArchiveOptions(format, jobs, args);
    args = checked.args();
  }

  public ArchiveTask(TaskHeader header, int serverVersionNum, ArchiveOptions options) {
    this(header, serverVersionNum, options.format(), options.jobs(), options.args());
  }

  public ArchiveOptions options() {
    return new ArchiveOptions(format, jobs, args);
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String describe() {
    return format + " pg_dump archive of " + header.database();
  }

  @Override
  public ArchiveTask withAttempt(int attempt) {
    return new ArchiveTask(header.withAttempt(attempt), serverVersionNum, format, jobs, args);
  }

  @Override
  public ArchiveTask withEncryption(io.pgfleet.common.manifest.BackupEncryption encryption) {
    return new ArchiveTask(header.withEncryption(encryption), serverVersionNum, format, jobs, args);
  }
}
