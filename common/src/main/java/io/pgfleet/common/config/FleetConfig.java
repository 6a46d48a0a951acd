package io.pgfleet.common.config;

import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.task.DumpFilter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The fleet's configuration, as read from a YAML file by {@link FleetConfigLoader} and validated as a whole: every
 * problem is reported with its path ({@code clusters[2].schedule.cron: ...}) before anything starts. Secrets
 * (database passwords, the API token, Kafka's SASL/TLS secrets, the encryption key) appear here only as
 * {@link SecretRef}s, resolved when used; the file never holds them inline.
 *
 * @param kafka the broker; {@code null} bootstrap servers means the embedded broker (standalone only)
 * @param repository where backups go
 * @param clusters the PostgreSQL clusters to back up, in file order, names unique
 * @param coordinator the coordinator's own settings
 * @param worker a worker process's settings
 * @param pgBinDirs directories holding pg_dump/pg_restore/psql of various majors (PgTools), may be empty
 */
public record FleetConfig(Kafka kafka, Repository repository, List<Cluster> clusters, Coordinator coordinator,
    Worker worker, List<Path> pgBinDirs, Retention retention, RestoreTests restoreTests, Alerts alerts) {

  /** The configuration without retention, restore tests or alerts (all off). */
  public FleetConfig(Kafka kafka, Repository repository, List<Cluster> clusters, Coordinator coordinator,
      Worker worker, List<Path> pgBinDirs) {
    this(kafka, repository, clusters, coordinator, worker, pgBinDirs, Retention.NONE, null, Alerts.NONE);
  }

  /**
   * Which backups to keep. The first rule whose {@code match} (a glob over {@code cluster/database}) matches a
   * database gives its policy; a database no rule matches keeps every backup. Retention runs after each completed
   * backup of a database and, with a {@code schedule}, over the whole repository.
   */
  public record Retention(List<RetentionRule> rules, Schedule schedule) {
    public static final Retention NONE = new Retention(List.of(), null);

    public java.util.Optional<RetentionPolicy> policyFor(String cluster, String database) {
      return rules.stream().filter(r -> Globs.matches(r.match(), cluster + "/" + database)).findFirst()
          .map(RetentionRule::policy);
    }
  }

  public record RetentionRule(String match, RetentionPolicy policy) {}

  /**
   * A GFS policy as restic's {@code forget} defines it: the newest {@code keepLast} backups, the newest backup of
   * each of the last {@code keepDaily} days that have one (and so on for weeks, months, years: calendar periods in
   * {@code timeZone}); a backup younger than {@code minAge} is always kept. 0 means the rule is not used; at least
   * one keep count is above 0 (a policy that keeps nothing is refused).
   */
  public record RetentionPolicy(int keepLast, int keepDaily, int keepWeekly, int keepMonthly, int keepYearly,
      Duration minAge, ZoneId timeZone) {}

  /**
   * Automatic restore tests: after a completed backup of a database that {@code include} selects (globs over
   * {@code cluster/database}), one backup in {@code sampleEvery} is restored into a scratch database on the sandbox
   * server and checked against its manifest, then the scratch database is dropped.
   *
   * @param assertions per database glob ({@code cluster/database}), SQL queries each returning one boolean that
   *     must be true in the restored database
   * @param timeout a restore test running longer fails
   */
  public record RestoreTests(Sandbox sandbox, List<String> include, int sampleEvery,
      Map<String, List<String>> assertions, Duration timeout) {
    public boolean selects(String cluster, String database) {
      return include.stream().anyMatch(p -> Globs.matches(p, cluster + "/" + database));
    }

    public List<String> assertionsFor(String cluster, String database) {
      List<String> out = new java.util.ArrayList<>();
      assertions.forEach((glob, queries) -> {
        if (Globs.matches(glob, cluster + "/" + database)) {
          out.addAll(queries);
        }
      });
      return out;
    }
  }

  /**
   * The server restore tests restore into; its role needs CREATEDB. Scratch databases are named
   * {@code scratchPrefix} + the backup id.
   */
  public record Sandbox(String host, int port, String sslmode, Path sslrootcert, String user, SecretRef password,
      String scratchPrefix) {
    public Sandbox(String host, int port, String sslmode, String user, SecretRef password, String scratchPrefix) {
      this(host, port, sslmode, null, user, password, scratchPrefix);
    }

    /** libpq's TLS parameters for this server (what a URL would carry after {@code ?}). */
    public Map<String, String> tlsParameters() {
      return FleetConfig.tlsParameters(sslmode, sslrootcert);
    }
  }

  /**
   * Alerts to webhooks: failed backups, failed restore tests, storage errors, and missed schedules (a database of a
   * scheduled cluster with no completed backup within its schedule's interval plus {@code missedGrace}). The same
   * alert (kind + database) is sent once per {@code dedupWindow} while it lasts; at most {@code maxPerMinute} are
   * sent per webhook; a resolved message follows when the database recovers.
   */
  public record Alerts(List<Webhook> webhooks, Duration missedGrace, Duration dedupWindow, int maxPerMinute) {
    public static final Alerts NONE = new Alerts(List.of(), Duration.ofMinutes(30), Duration.ofHours(1), 30);
  }

  /**
   * @param url the endpoint, when it holds no secret
   * @param urlSecret the endpoint by reference, when it does (a Slack incoming-webhook URL is a secret)
   * @param format {@code json} (pgfleet's alert document) or {@code slack} (Slack's incoming-webhook payload)
   */
  public record Webhook(String name, String url, SecretRef urlSecret, String format) {
    public String resolveUrl() {
      return url != null ? url : urlSecret.resolve();
    }
  }

  /**
   * A secret given by reference: exactly one of an environment variable name, a file path, or a command that prints
   * it (the hook for a key management service or a vault: {@link SecretCommand}).
   */
  public record SecretRef(String env, Path file, List<String> command) {
    public SecretRef(String env, Path file) {
      this(env, file, null);
    }

    /** Reads the secret now; the message of the exception names the variable, file or program, never the value. */
    public String resolve() {
      return SecretRefs.resolve(this);
    }

    public String describe() {
      return env != null ? "environment variable " + env
          : file != null ? "file " + file : "command '" + SecretCommand.program(command) + "'";
    }
  }

  /**
   * @param bootstrapServers host:port list, or null for the embedded broker
   * @param properties Kafka client properties passed through as they are (security.protocol, sasl.mechanism,
   *     ssl.truststore.location...): plain values, never secrets
   * @param secretProperties Kafka client properties whose values are secrets (sasl.jaas.config,
   *     ssl.truststore.password, ssl.keystore.password, ssl.key.password), by reference
   * @param taskPartitions partitions of pgfleet.tasks when pgfleet creates it (2-4x the fleet's total slots)
   * @param replication replication factor of the topics pgfleet creates
   */
  public record Kafka(String bootstrapServers, Map<String, String> properties, Map<String, SecretRef> secretProperties,
      int taskPartitions, short replication) {}

  /**
   * @param url a directory, gs://bucket/prefix or s3://bucket/prefix
   * @param encryptionKey the master key (base64 or hex, as {@code --encryption-key-file} reads it), or null for
   *     backups stored in the clear
   */
  /**
   * @param resilience retries with backoff and the circuit breaker of the repository (see
   *     {@link io.pgfleet.common.storage.ResilientStorage})
   */
  public record Repository(String url, SecretRef encryptionKey,
      io.pgfleet.common.storage.ResilientStorage.Settings resilience) {
    public Repository(String url, SecretRef encryptionKey) {
      this(url, encryptionKey, io.pgfleet.common.storage.ResilientStorage.Settings.DEFAULT);
    }
  }

  /**
   * @param name the cluster's name in the repository, events and API: 1-64 of [A-Za-z0-9_-]
   * @param sslmode libpq sslmode (disable, allow, prefer, require, verify-ca, verify-full), null for the default
   * @param sslrootcert the CA certificate(s) (PEM) that verify-ca and verify-full check the server's certificate
   *     against, null for the default ({@code ~/.postgresql/root.crt})
   * @param password by reference; null when the server needs none (trust, peer, certificates)
   * @param databases which databases to back up
   * @param schedule when; null means only on demand (API, CLI)
   * @param limits per-cluster bulkhead
   */
  public record Cluster(String name, String host, int port, String sslmode, Path sslrootcert, String user,
      SecretRef password, Databases databases, Schedule schedule, Limits limits) {
    public Cluster(String name, String host, int port, String sslmode, String user, SecretRef password,
        Databases databases, Schedule schedule, Limits limits) {
      this(name, host, port, sslmode, null, user, password, databases, schedule, limits);
    }

    /** libpq's TLS parameters for this cluster (what a URL would carry after {@code ?}). */
    public Map<String, String> tlsParameters() {
      return FleetConfig.tlsParameters(sslmode, sslrootcert);
    }

    /**
     * A connection to one database of this cluster. The password is read now (environment or file, every call,
     * so a rotated file is picked up); a message about it names the cluster and the variable or file.
     */
    public PgConnectionInfo connection(String database) {
      String secret = null;
      if (password != null) {
        try {
          secret = password.resolve();
        } catch (ConfigException e) {
          throw new ConfigException("cluster " + name + ": cannot read its password: " + e.getMessage());
        }
      }
      return new PgConnectionInfo(host, port, user, secret, database, tlsParameters());
    }
  }

  /**
   * Which databases of a cluster are backed up. Discovery lists the cluster's databases at every wave (all but
   * templates and those that refuse connections), keeps those matching one {@code include} pattern (default
   * {@code *}) and drops those matching an {@code exclude} pattern. Patterns are globs: {@code *} any run of
   * characters, {@code ?} one character; everything else literal, case-sensitive.
   *
   * @param filters per-database pg_dump-style filters, keyed by a glob pattern of database names (the first
   *     matching key wins)
   */
  public record Databases(List<String> include, List<String> exclude, Map<String, DumpFilter> filters) {
    /** The filters for one database: those of the first pattern matching it, else none. */
    public DumpFilter filtersFor(String database) {
      for (Map.Entry<String, DumpFilter> e : filters.entrySet()) {
        if (Globs.matches(e.getKey(), database)) {
          return e.getValue();
        }
      }
      return DumpFilter.NONE;
    }

    public boolean selects(String database) {
      return include.stream().anyMatch(p -> Globs.matches(p, database))
          && exclude.stream().noneMatch(p -> Globs.matches(p, database));
    }
  }

  /** A cron expression (5 fields, Unix style: minute hour day-of-month month day-of-week) in a time zone. */
  public record Schedule(String cron, ZoneId timeZone) {
    /** The parsed expression; {@link FleetConfigLoader} has validated it already. */
    public CronSchedule cronSchedule() {
      return CronSchedule.parse(cron, timeZone);
    }
  }

  /**
   * @param maxRuns backups of this cluster in flight at once (snapshots held on it)
   * @param maxTasks tasks of this cluster running or queued on workers at once (connections dumping from it)
   */
  public record Limits(int maxRuns, int maxTasks) {
    public static final Limits DEFAULT = new Limits(2, 4);
  }

  /**
   * @param http the API's listener
   * @param apiToken the bearer token of the API, by reference; null disables the API's /api routes (health,
   *     readiness and the OpenAPI document stay)
   * @param maxRuns runs in flight over the whole fleet
   * @param startTimeout a run whose tasks have not all started within this bound is aborted (snapshot released)
   *     and retried
   * @param maxRunAttempts how often a database's run is tried in one wave before it is reported failed
   */
  public record Coordinator(Http http, SecretRef apiToken, int maxRuns, Duration startTimeout, int maxRunAttempts) {}

  public record Http(String host, int port) {}

  /**
   * @param id a stable id (static group membership), or null for a generated one (hostname + random suffix)
   * @param slots tasks run at once
   * @param zstdLevel 1-19
   * @param metricsPort where a worker process serves {@code /metrics} (Prometheus): 0 any free port, -1 off; a
   *     process that also runs a coordinator serves them on the API's port instead
   * @param stallTimeout a task whose rows and bytes have not moved for this long is stopped by the worker's
   *     watchdog and retried
   */
  public record Worker(String id, int slots, int zstdLevel, int metricsPort, Duration stallTimeout) {
    public static final int DEFAULT_METRICS_PORT = 9400;
    public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofMinutes(15);

    public Worker(String id, int slots, int zstdLevel) {
      this(id, slots, zstdLevel, DEFAULT_METRICS_PORT, DEFAULT_STALL_TIMEOUT);
    }
  }

  /**
   * sslmode and sslrootcert as {@link PgConnectionInfo} parameters, which hand them to both pgjdbc and libpq
   * (PGSSLMODE, PGSSLROOTCERT), so the JDBC connections and pg_dump, pg_restore and psql verify alike.
   */
  static Map<String, String> tlsParameters(String sslmode, Path sslrootcert) {
    Map<String, String> params = new java.util.LinkedHashMap<>();
    if (sslmode != null) {
      params.put("sslmode", sslmode);
    }
    if (sslrootcert != null) {
      params.put("sslrootcert", sslrootcert.toString());
    }
    return params;
  }

  public Optional<Cluster> cluster(String name) {
    return clusters.stream().filter(c -> c.name().equals(name)).findFirst();
  }
}
