package io.pgfleet.cli;

import io.pgfleet.cli.standalone.Standalone;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.task.ArchiveOptions;
import io.pgfleet.common.task.DumpFilter;
import io.pgfleet.coordinator.run.BackupFailedException;
import io.pgfleet.coordinator.dispatch.TaskDispatcher;
import io.pgfleet.coordinator.plan.BackupPlanner;
import io.pgfleet.coordinator.run.BackupOutcome;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "backup", description = {
    "Back up one database: the coordinator exports a snapshot and publishes one task per table to Kafka; "
        + "workers copy the tables in parallel under that snapshot into the repository; the manifest is written "
        + "last. Standalone: runs an embedded Kafka broker, the coordinator and the workers in this process."})
final class BackupCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "POSTGRES_URL",
      description = "postgresql://user[:password]@host[:port]/database[?sslmode=...] (or PGPASSWORD)")
  String url;

  @picocli.CommandLine.Mixin
  EncryptionKeyOption encryption;

  @Option(names = "--repo", required = true, description = "Repository: a directory (created if missing), gs://BUCKET/PREFIX or s3://BUCKET/PREFIX.")
  String repo;

  @Option(names = "--workers", defaultValue = "2", description = "Worker instances (default ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--slots", defaultValue = "1", description = "Task slots per worker (default ${DEFAULT-VALUE}).")
  int slots;

  @Option(names = "--cluster", description = "Cluster name in the repository (default: host-port).")
  String cluster;

  @Option(names = "--zstd-level", defaultValue = "1",
      description = "zstd level 1-19 (default ${DEFAULT-VALUE}: fastest; on COPY text it compresses about as well as "
          + "gzip -6 at a fraction of the CPU).")
  int zstdLevel;

  @Option(names = "--split-threshold", defaultValue = "256MB", paramLabel = "SIZE",
      description = "Split a table whose estimated COPY text is larger into chunks dumped in parallel "
          + "(default ${DEFAULT-VALUE}).")
  String splitThreshold;

  @Option(names = "--chunk-size", defaultValue = "128MB", paramLabel = "SIZE",
      description = "COPY text per chunk of a split table (default ${DEFAULT-VALUE}).")
  String chunkSize;

  @Option(names = "--stats-json", paramLabel = "FILE",
      description = "Write timings of the run (wall time, the longest task, the JVM's peak heap) to FILE as JSON.")
  java.nio.file.Path statsJson;

  @Option(names = "--kafka", description = "Use this Kafka (bootstrap servers) instead of the embedded broker.")
  String kafka;

  @Option(names = "--task-partitions", defaultValue = "16", hidden = true)
  int taskPartitions;

  @Option(names = "--format", paramLabel = "plain|custom|directory",
      description = "Archive mode: one pg_dump archive of this format instead of pgfleet's parallel table dumps; "
          + "restored with psql (plain) or pg_restore, not with pgfleet restore.")
  String format;

  @Option(names = "--dump-jobs", paramLabel = "N",
      description = "Archive mode, directory format: pg_dump -j N (1 to 64, default 1).")
  Integer dumpJobs;

  @Option(names = {"-s", "--schema-only"}, description = "Archive mode: definitions only (pg_dump --schema-only).")
  boolean schemaOnly;

  @Option(names = {"-a", "--data-only"}, description = "Archive mode: rows only (pg_dump --data-only).")
  boolean dataOnly;

  @Option(names = {"-n", "--schema"}, paramLabel = "PATTERN",
      description = "Only schemas matching PATTERN (pg_dump -n; repeatable; each must match a schema).")
  List<String> schemas = new ArrayList<>();

  @Option(names = {"-N", "--exclude-schema"}, paramLabel = "PATTERN",
      description = "Leave out schemas matching PATTERN (pg_dump -N; repeatable).")
  List<String> excludeSchemas = new ArrayList<>();

  @Option(names = {"-t", "--table"}, paramLabel = "PATTERN",
      description = "Archive mode: only tables matching PATTERN (pg_dump -t; repeatable; each must match).")
  List<String> tables = new ArrayList<>();

  @Option(names = {"-T", "--exclude-table"}, paramLabel = "PATTERN",
      description = "Leave out tables matching PATTERN: schema.name, or name for tables visible in the search path"
          + " as in pg_dump (pg_dump -T; repeatable).")
  List<String> excludeTables = new ArrayList<>();

  @Option(names = "--exclude-table-data", paramLabel = "PATTERN",
      description = "Back up the definition but not the rows of tables matching PATTERN (pg_dump "
          + "--exclude-table-data; repeatable).")
  List<String> excludeTableData = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (workers < 1 || workers > 64) {
      throw new UserError("--workers " + workers + " is out of range: give 1 to 64");
    }
    if (slots < 1 || slots > 64) {
      throw new UserError("--slots " + slots + " is out of range: give 1 to 64");
    }
    if (zstdLevel < 1 || zstdLevel > 19) {
      throw new UserError("--zstd-level " + zstdLevel + " is out of range: give 1 (fastest) to 19 (smallest)");
    }
    ArchiveOptions archive = archiveOptions();
    DumpFilter filter = archive != null ? DumpFilter.NONE
        : new DumpFilter(schemas, excludeSchemas, excludeTables, excludeTableData);
    try {
      filter.check();
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    BackupPlanner.PlanOptions plan = new BackupPlanner.PlanOptions(
        Formats.parseSize("--split-threshold", splitThreshold), Formats.parseSize("--chunk-size", chunkSize));
    PgConnectionInfo target = PgConnectionInfo.parse(url);
    String clusterName = cluster != null ? cluster : defaultCluster(target);
    if (!clusterName.matches("[A-Za-z0-9_-]{1,64}")) {
      throw new UserError("--cluster '" + clusterName + "' is not a valid name: use 1-64 letters, digits, '_' or '-'");
    }
    io.pgfleet.common.crypto.MasterKey key = encryption.key();
    Storage storage = Repositories.forWriting(repo);
    preflight(target);

    ProgressPrinter printer = new ProgressPrinter(System.err);
    System.err.println("pgfleet: backing up " + target.redacted() + " into " + storage.describe() + " with "
        + workers + " worker(s) x " + slots + " slot(s)"
        + (key == null ? "" : ", encrypted with key " + key.keyId()) + (kafka == null ? " (embedded Kafka)" : " (Kafka " + kafka + ")"));
    ClusterDirectory clusters = new ClusterDirectory(Map.of(clusterName, target.withDatabase("postgres")));
    try (Standalone s = Standalone.start(kafka, storage, clusters,
        new Standalone.Options(workers, slots, zstdLevel, Math.max(taskPartitions, workers * (slots + TaskDispatcher.PREFETCH)),
            Main.version(), plan, key))) {
      BackupOutcome outcome;
      try {
        outcome = s.coordinator().backup(clusterName, target.database(), archive, filter, printer::backup)
            .toCompletionStage().toCompletableFuture().get(7, TimeUnit.DAYS);
      } catch (ExecutionException e) {
        printer.done();
        if (e.getCause() instanceof BackupFailedException f) {
          throw new UserError("backup of " + target.redacted() + " failed, no backup was written: " + f.getMessage());
        }
        throw e;
      }
      printer.done();
      Manifest m = outcome.manifest();
      if (m.archiveMode()) {
        System.err.printf("pgfleet: backup %s complete: %s pg_dump archive %s, %d file(s), %s stored in %s%n",
            m.backupId(), m.archive().format(), m.archive().key(), m.archive().files().size(),
            Formats.bytes(m.totalBytes()), Formats.duration(java.time.Duration.between(m.startedAt(), m.finishedAt())));
      } else {
        System.err.printf("pgfleet: backup %s complete: %d tables, %s rows, %s stored in %s%n", m.backupId(),
            m.tableCount(), Formats.count(m.totalRows()), Formats.bytes(m.totalBytes()),
            Formats.duration(java.time.Duration.between(m.startedAt(), m.finishedAt())));
      }
      if (statsJson != null) {
        RunStats.write(statsJson, m);
      }
      System.out.println(m.backupId());
      System.out.flush();
      return 0;
    }
  }

  /**
   * The archive-mode request, or null for pgfleet mode; -t, --schema-only, --data-only and --dump-jobs need
   * --format (pgfleet mode takes -n, -N, -T and --exclude-table-data as a {@link DumpFilter}).
   */
  private ArchiveOptions archiveOptions() {
    List<String> args = new ArrayList<>();
    if (schemaOnly) {
      args.add("--schema-only");
    }
    if (dataOnly) {
      args.add("--data-only");
    }
    schemas.forEach(p -> args.add("--schema=" + p));
    excludeSchemas.forEach(p -> args.add("--exclude-schema=" + p));
    tables.forEach(p -> args.add("--table=" + p));
    excludeTables.forEach(p -> args.add("--exclude-table=" + p));
    excludeTableData.forEach(p -> args.add("--exclude-table-data=" + p));
    if (format == null) {
      if (schemaOnly || dataOnly || !tables.isEmpty() || dumpJobs != null) {
        throw new UserError("-t, --schema-only, --data-only and --dump-jobs are pg_dump archive options: add"
            + " --format plain|custom|directory (pgfleet mode selects with -n, -N, -T and --exclude-table-data;"
            + " select single tables at restore time with pgfleet restore -t)");
      }
      return null;
    }
    int jobs = dumpJobs == null ? 1 : dumpJobs;
    if (jobs > 1 && !format.equals("directory")) {
      throw new UserError("--dump-jobs " + jobs + " needs --format directory (pg_dump writes in parallel only"
          + " into a directory archive)");
    }
    try {
      return new ArchiveOptions(format, jobs, args);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage().replace("archive format", "--format").replace("archive jobs", "--dump-jobs"));
    }
  }

  static String defaultCluster(PgConnectionInfo t) {
    return t.host().replaceAll("[^A-Za-z0-9_-]", "-") + "-" + t.port();
  }

  /** Fails fast, before any broker starts, on the usual mistakes: wrong host, password or database name. */
  private static void preflight(PgConnectionInfo target) {
    try (Connection c = DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties("pgfleet-preflight"))) {
      c.isValid(5);
    } catch (SQLException e) {
      throw new UserError(PgErrors.describe(e, target));
    }
  }
}
