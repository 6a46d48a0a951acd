package io.pgfleet.common.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.pgfleet.common.config.ConfigReader.Section;
import io.pgfleet.common.storage.ResilientStorage;
import io.pgfleet.common.task.DumpFilter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads the fleet's YAML configuration (see docs/configuration.md) and validates all of it before anything
 * starts: a {@link ConfigException} lists every problem, one line each, starting with its path
 * ({@code clusters[2].schedule.cron: ...}). Only the shape of secret references is checked here; secrets are
 * read when used, and no message quotes an inline secret.
 */
public final class FleetConfigLoader {
  static final List<String> TOP_KEYS = List.of("kafka", "repository", "clusters", "coordinator", "worker",
      "pgBinDirs", "retention", "restoreTests", "alerts");
  static final List<String> RETENTION_KEYS = List.of("rules", "schedule");
  static final List<String> RULE_KEYS = List.of("match", "keepLast", "keepDaily", "keepWeekly", "keepMonthly",
      "keepYearly", "minAge", "timeZone");
  static final List<String> RESTORE_TEST_KEYS = List.of("sandbox", "include", "sampleEvery", "assertions", "timeout");
  static final List<String> SANDBOX_KEYS = List.of("host", "port", "sslmode", "sslrootcert", "user", "password",
      "scratchPrefix");
  static final List<String> ALERTS_KEYS = List.of("webhooks", "missedGrace", "dedupWindow", "maxPerMinute");
  static final List<String> WEBHOOK_KEYS = List.of("name", "url", "format");
  private static final Pattern SCRATCH_PREFIX = Pattern.compile("[a-z_][a-z0-9_]{0,30}");
  static final List<String> KAFKA_KEYS =
      List.of("bootstrapServers", "properties", "secretProperties", "taskPartitions", "replication");
  static final List<String> REPOSITORY_KEYS = List.of("url", "encryptionKey", "retry", "circuit");
  static final List<String> RETRY_KEYS = List.of("maxAttempts", "firstBackoff", "maxBackoff");
  static final List<String> CIRCUIT_KEYS = List.of("failuresToOpen", "openFor", "probes");
  static final List<String> CLUSTER_KEYS =
      List.of("name", "host", "port", "sslmode", "sslrootcert", "user", "password", "databases", "schedule", "limits");
  static final List<String> DATABASES_KEYS = List.of("include", "exclude", "list", "filters");
  static final List<String> FILTER_KEYS = List.of("schemas", "excludeSchemas", "excludeTables", "excludeTableData");
  static final List<String> SCHEDULE_KEYS = List.of("cron", "timeZone");
  static final List<String> LIMITS_KEYS = List.of("maxRuns", "maxTasks");
  static final List<String> COORDINATOR_KEYS =
      List.of("http", "apiToken", "maxRuns", "startTimeout", "maxRunAttempts");
  static final List<String> HTTP_KEYS = List.of("host", "port");
  static final List<String> WORKER_KEYS = List.of("id", "slots", "zstdLevel", "metricsPort", "stallTimeout");
  static final List<String> SSL_MODES =
      List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

  private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern WORKER_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[^\\s:\\[\\]]+):(\\d{1,5})");
  /** Kafka client settings of type PASSWORD: they belong in secretProperties, by reference. */
  private static final Set<String> KAFKA_SECRET_KEYS = Set.of("sasl.jaas.config", "ssl.key.password",
      "ssl.keystore.password", "ssl.truststore.password", "ssl.keystore.key", "ssl.truststore.certificates",
      "sasl.oauthbearer.client.credentials.client.secret", "basic.auth.user.info");

  private static final YAMLMapper YAML = new YAMLMapper(
      YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());

  static final FleetConfig.Kafka DEFAULT_KAFKA = new FleetConfig.Kafka(null, Map.of(), Map.of(), 48, (short) 1);
  static final FleetConfig.Coordinator DEFAULT_COORDINATOR = new FleetConfig.Coordinator(
      new FleetConfig.Http("0.0.0.0", 8080), null, 16, Duration.ofSeconds(120), 2);
  static final FleetConfig.Worker DEFAULT_WORKER = new FleetConfig.Worker(null, 2, 1);

  private FleetConfigLoader() {}

  /** Reads a file; relative paths inside it are resolved against its directory. */
  public static FleetConfig load(Path file) {
    String yaml;
    try {
      yaml = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read the configuration file (" + e.getClass().getSimpleName()
          + "): check that it exists and this process may read it");
    }
    Path dir = file.toAbsolutePath().getParent();
    return parse(yaml, dir, file.toString());
  }

  /** Parses configuration text; relative secret files and pgBinDirs are resolved against {@code baseDir}. */
  public static FleetConfig parse(String yaml, Path baseDir) {
    return parse(yaml, baseDir, "configuration");
  }

  private static FleetConfig parse(String yaml, Path baseDir, String source) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException(syntaxError(source, e));
    }
    if (ConfigReader.absent(root)) {
      throw new ConfigException(source + ": the file is empty; it must hold at least repository (url) and clusters"
          + " (each with name, host and user)");
    }
    if (!root.isObject()) {
      throw new ConfigException(source + ": expected a mapping with keys " + String.join(", ", TOP_KEYS)
          + " at the top level, got " + ConfigReader.describe(root));
    }
    ConfigReader reader = new ConfigReader(baseDir.toAbsolutePath());
    Section top = reader.root(root, TOP_KEYS);
    FleetConfig.Kafka kafka = kafka(reader, top.section("kafka", KAFKA_KEYS));
    FleetConfig.Repository repository = repository(reader, top);
    List<FleetConfig.Cluster> clusters = clusters(reader, top);
    FleetConfig.Coordinator coordinator = coordinator(top.section("coordinator", COORDINATOR_KEYS));
    FleetConfig.Worker worker = worker(top.section("worker", WORKER_KEYS));
    List<Path> pgBinDirs = top.paths("pgBinDirs");
    FleetConfig.Retention retention = top.has("retention")
        ? retention(reader, top.section("retention", RETENTION_KEYS)) : FleetConfig.Retention.NONE;
    FleetConfig.RestoreTests restoreTests = top.has("restoreTests")
        ? restoreTests(reader, top.section("restoreTests", RESTORE_TEST_KEYS)) : null;
    FleetConfig.Alerts alerts = top.has("alerts")
        ? alerts(reader, top.section("alerts", ALERTS_KEYS)) : FleetConfig.Alerts.NONE;
    if (!reader.problems().isEmpty()) {
      throw new ConfigException(reader.problems());
    }
    return new FleetConfig(kafka, repository, clusters, coordinator, worker, pgBinDirs, retention, restoreTests,
        alerts);
  }

  /** One line with the file, line and column; never the offending text, which may be a secret. */
  private static String syntaxError(String source, JsonProcessingException e) {
    String what;
    long line;
    long column;
    if (e.getCause() instanceof MarkedYAMLException m && m.getProblemMark() != null) {
      what = m.getProblem();
      line = m.getProblemMark().getLine() + 1L;
      column = m.getProblemMark().getColumn() + 1L;
      if (m.getContext() != null) {
        what = what + " (" + m.getContext() + ")";
      }
    } else {
      String original = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
      what = original.lines().findFirst().orElse(original);
      line = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
      column = e.getLocation() == null ? -1 : e.getLocation().getColumnNr();
    }
    return source + ": invalid YAML at line " + line + ", column " + column + ": " + what;
  }

  private static FleetConfig.Kafka kafka(ConfigReader reader, Section s) {
    String servers = s.string("bootstrapServers");
    if (servers != null) {
      for (String server : servers.split(",")) {
        var m = HOST_PORT.matcher(server.strip());
        if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
          reader.problem(s.path("bootstrapServers"), "'" + server.strip()
              + "' is not host:port; give a comma-separated list such as k1:9092,k2:9092");
        }
      }
    }
    Map<String, String> properties = s.entries("properties", (key, path, n) -> {
      if (isKafkaSecret(key)) {
        reader.problem(path, "this is a secret: move it to kafka.secretProperties as {env: VARIABLE} or {file: PATH}");
        return null;
      }
      if (ConfigReader.absent(n) || n.isContainerNode()) {
        reader.problem(path, "expected a string value, got "
            + (ConfigReader.absent(n) ? "nothing" : ConfigReader.describe(n)));
        return null;
      }
      return n.asText();
    });
    Map<String, FleetConfig.SecretRef> secretProperties = s.entries("secretProperties", (key, path, n) -> {
      if (ConfigReader.absent(n)) {
        reader.problem(path, "expected {env: VARIABLE} or {file: PATH}, got nothing");
      }
      return reader.secret(path, n, "secret");
    });
    for (String key : secretProperties.keySet()) {
      if (properties.containsKey(key)) {
        reader.problem(ConfigReader.child(s.path("properties"), key),
            "also given in kafka.secretProperties; keep only one");
      }
    }
    int partitions = (int) s.integer("taskPartitions", DEFAULT_KAFKA.taskPartitions(), 1, 10_000);
    short replication = (short) s.integer("replication", DEFAULT_KAFKA.replication(), 1, Short.MAX_VALUE);
    return new FleetConfig.Kafka(servers, Collections.unmodifiableMap(properties),
        Collections.unmodifiableMap(secretProperties), partitions, replication);
  }

  private static boolean isKafkaSecret(String key) {
    return KAFKA_SECRET_KEYS.contains(key) || key.endsWith(".password") || key.endsWith(".secret");
  }

  private static FleetConfig.Repository repository(ConfigReader reader, Section top) {
    if (!top.has("repository")) {
      reader.problem("repository", "required; give at least url: a directory, gs://bucket/prefix or s3://bucket/prefix");
      return null;
    }
    Section s = top.section("repository", REPOSITORY_KEYS);
    String url = s.requiredString("url", "give a directory, gs://bucket/prefix or s3://bucket/prefix");
    if (url != null) {
      int scheme = url.indexOf("://");
      if (scheme >= 0) {
        String name = url.substring(0, scheme);
        String bucket = url.substring(scheme + 3).split("/", 2)[0];
        if (!name.equals("gs") && !name.equals("s3")) {
          reader.problem(s.path("url"), "unsupported scheme '" + name
              + "://'; give a directory path, gs://bucket/prefix or s3://bucket/prefix");
        } else if (bucket.isEmpty()) {
          reader.problem(s.path("url"), "no bucket in '" + url + "'; expected " + name + "://bucket/prefix");
        }
      }
    }
    return new FleetConfig.Repository(url, s.secret("encryptionKey", "encryption key"), resilience(reader, s));
  }

  /** repository.retry and repository.circuit: see docs/configuration.md and docs/RELIABILITY.md ("Storage outages"). */
  private static ResilientStorage.Settings resilience(ConfigReader reader, Section repository) {
    ResilientStorage.Settings d = ResilientStorage.Settings.DEFAULT;
    Section retry = repository.section("retry", RETRY_KEYS);
    Section circuit = repository.section("circuit", CIRCUIT_KEYS);
    int attempts = (int) retry.integer("maxAttempts", d.maxAttempts(), 1, 20);
    Duration first = retry.duration("firstBackoff", d.firstBackoff());
    Duration max = retry.duration("maxBackoff", d.maxBackoff());
    if (first.compareTo(max) > 0) {
      reader.problem(retry.path("maxBackoff"), "must not be shorter than firstBackoff (" + first.toMillis() + " ms)");
      max = first;
    }
    int failures = (int) circuit.integer("failuresToOpen", d.failuresToOpen(), 1, 1000);
    Duration openFor = circuit.duration("openFor", d.openFor());
    int probes = (int) circuit.integer("probes", d.probes(), 1, 100);
    return new ResilientStorage.Settings(attempts, first, max, failures, openFor, probes);
  }

  private static List<FleetConfig.Cluster> clusters(ConfigReader reader, Section top) {
    JsonNode list = top.get("clusters");
    if (ConfigReader.absent(list)) {
      reader.problem("clusters", "required; give a list with at least one cluster (name, host, user)");
      return List.of();
    }
    if (!list.isArray()) {
      reader.problem("clusters", "expected a list of clusters (each a mapping with name, host, user...), got "
          + ConfigReader.describe(list));
      return List.of();
    }
    if (list.isEmpty()) {
      reader.problem("clusters", "must hold at least one cluster (name, host, user)");
      return List.of();
    }
    List<FleetConfig.Cluster> out = new ArrayList<>();
    Map<String, String> seen = new HashMap<>();
    for (int i = 0; i < list.size(); i++) {
      String path = ConfigReader.index("clusters", i);
      JsonNode n = list.get(i);
      if (ConfigReader.absent(n)) {
        reader.problem(path, "empty entry; give a mapping with name, host and user");
        continue;
      }
      Section s = new Section(reader, path, n, CLUSTER_KEYS);
      if (!s.present()) {
        continue;
      }
      FleetConfig.Cluster c = cluster(reader, s);
      if (c.name() != null) {
        String first = seen.putIfAbsent(c.name(), s.path("name"));
        if (first != null) {
          reader.problem(s.path("name"), "duplicate cluster name '" + c.name() + "' (also " + first + ")");
        }
      }
      out.add(c);
    }
    return List.copyOf(out);
  }

  private static FleetConfig.Cluster cluster(ConfigReader reader, Section s) {
    String name = s.requiredString("name", "give the cluster's name, 1-64 of A-Z a-z 0-9 _ -");
    if (name != null && !CLUSTER_NAME.matcher(name).matches()) {
      reader.problem(s.path("name"), "'" + name + "' is not a valid cluster name: use 1-64 of A-Z a-z 0-9 _ -");
      name = null;
    }
    String host = s.requiredString("host", "give the server's host name or address");
    int port = (int) s.integer("port", 5432, 1, 65535);
    String sslmode = s.oneOf("sslmode", SSL_MODES);
    Path sslrootcert = s.pathValue("sslrootcert");
    String user = s.requiredString("user", "give the role pgfleet connects as");
    FleetConfig.SecretRef password = s.secret("password", "password");
    FleetConfig.Databases databases = databases(reader, s.section("databases", DATABASES_KEYS));
    Section schedule = s.section("schedule", SCHEDULE_KEYS);
    Section limits = s.section("limits", LIMITS_KEYS);
    FleetConfig.Limits l = new FleetConfig.Limits(
        (int) limits.integer("maxRuns", FleetConfig.Limits.DEFAULT.maxRuns(), 1, 1000),
        (int) limits.integer("maxTasks", FleetConfig.Limits.DEFAULT.maxTasks(), 1, 10_000));
    return new FleetConfig.Cluster(name, host, port, sslmode, sslrootcert, user, password, databases,
        schedule.present() ? schedule(reader, schedule) : null, l);
  }

  private static FleetConfig.Databases databases(ConfigReader reader, Section s) {
    List<String> include = s.strings("include", List.of("*"));
    if (s.has("include") && s.get("include").isArray() && s.get("include").isEmpty()) {
      reader.problem(s.path("include"), "must hold at least one pattern; leave it out to back up every database");
    }
    if (s.has("list")) {
      List<String> list = s.strings("list", List.of());
      if (s.has("include")) {
        reader.problem(s.path("list"), "give either list or include, not both");
      } else if (s.get("list").isArray() && s.get("list").isEmpty()) {
        reader.problem(s.path("list"), "must name at least one database");
      }
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i).contains("*") || list.get(i).contains("?")) {
          reader.problem(ConfigReader.index(s.path("list"), i), "'" + list.get(i)
              + "' is a pattern, but list holds exact names; use include for patterns");
        }
      }
      if (!list.isEmpty()) {
        include = list;
      }
    }
    List<String> exclude = s.strings("exclude", List.of());
    Map<String, DumpFilter> filters = s.entries("filters", (glob, path, n) -> {
      Section f = new Section(reader, path, n, FILTER_KEYS);
      return new DumpFilter(f.strings("schemas", List.of()), f.strings("excludeSchemas", List.of()),
          f.strings("excludeTables", List.of()), f.strings("excludeTableData", List.of()));
    });
    return new FleetConfig.Databases(include, exclude, Collections.unmodifiableMap(filters));
  }

  private static FleetConfig.Schedule schedule(ConfigReader reader, Section s) {
    String cron = s.requiredString("cron", "give a 5-field cron expression such as '0 2 * * *'");
    ZoneId zone = ZoneId.of("UTC");
    String zoneText = s.string("timeZone");
    boolean zoneOk = true;
    if (zoneText != null) {
      try {
        zone = ZoneId.of(zoneText);
      } catch (DateTimeException e) {
        reader.problem(s.path("timeZone"), "'" + zoneText
            + "' is not a valid time zone; give a region such as Europe/Berlin, or UTC");
        zoneOk = false;
      }
    }
    if (cron != null) {
      try {
        CronSchedule.parse(cron, zone);
      } catch (IllegalArgumentException e) {
        reader.problem(s.path("cron"), e.getMessage());
        cron = null;
      }
    }
    return new FleetConfig.Schedule(cron, zoneOk ? zone : null);
  }

  private static FleetConfig.Coordinator coordinator(Section s) {
    FleetConfig.Coordinator d = DEFAULT_COORDINATOR;
    Section http = s.section("http", HTTP_KEYS);
    String host = http.string("host");
    return new FleetConfig.Coordinator(
        new FleetConfig.Http(host == null ? d.http().host() : host,
            (int) http.integer("port", d.http().port(), 0, 65535)),
        s.secret("apiToken", "API token"),
        (int) s.integer("maxRuns", d.maxRuns(), 1, 10_000),
        s.duration("startTimeout", d.startTimeout()),
        (int) s.integer("maxRunAttempts", d.maxRunAttempts(), 1, 10));
  }

  private static FleetConfig.Retention retention(ConfigReader reader, Section s) {
    List<FleetConfig.RetentionRule> rules = new ArrayList<>();
    JsonNode list = s.get("rules");
    if (ConfigReader.absent(list) || !list.isArray() || list.isEmpty()) {
      reader.problem(s.path("rules"), "expected a list of rules (each with match and keep counts), got "
          + (ConfigReader.absent(list) ? "nothing" : ConfigReader.describe(list)));
    } else {
      for (int i = 0; i < list.size(); i++) {
        Section r = new Section(reader, ConfigReader.index(s.path("rules"), i), list.get(i), RULE_KEYS);
        if (!r.present()) {
          continue;
        }
        String match = r.requiredString("match", "give a glob over cluster/database, e.g. 'tenant-a/*' or '*'");
        int last = (int) r.integer("keepLast", 0, 0, 100_000);
        int daily = (int) r.integer("keepDaily", 0, 0, 100_000);
        int weekly = (int) r.integer("keepWeekly", 0, 0, 100_000);
        int monthly = (int) r.integer("keepMonthly", 0, 0, 100_000);
        int yearly = (int) r.integer("keepYearly", 0, 0, 100_000);
        Duration minAge = r.duration("minAge", Duration.ZERO);
        ZoneId zone = ZoneId.of("UTC");
        String zoneText = r.string("timeZone");
        if (zoneText != null) {
          try {
            zone = ZoneId.of(zoneText);
          } catch (DateTimeException e) {
            reader.problem(r.path("timeZone"), "'" + zoneText
                + "' is not a valid time zone; give a region such as Europe/Berlin, or UTC");
          }
        }
        if (last + daily + weekly + monthly + yearly == 0) {
          reader.problem(r.path("keepLast"), "the rule keeps nothing: give at least one of keepLast, keepDaily,"
              + " keepWeekly, keepMonthly, keepYearly above 0 (a rule that keeps nothing would delete every backup)");
        }
        rules.add(new FleetConfig.RetentionRule(match,
            new FleetConfig.RetentionPolicy(last, daily, weekly, monthly, yearly, minAge, zone)));
      }
    }
    Section schedule = s.section("schedule", SCHEDULE_KEYS);
    return new FleetConfig.Retention(List.copyOf(rules), schedule.present() ? schedule(reader, schedule) : null);
  }

  private static FleetConfig.RestoreTests restoreTests(ConfigReader reader, Section s) {
    FleetConfig.Sandbox sandbox = null;
    if (!s.has("sandbox")) {
      reader.problem(s.path("sandbox"), "required: the server restore tests restore into (host, user, password)");
    } else {
      Section b = s.section("sandbox", SANDBOX_KEYS);
      String prefix = b.string("scratchPrefix");
      if (prefix != null && !SCRATCH_PREFIX.matcher(prefix).matches()) {
        reader.problem(b.path("scratchPrefix"), "'" + prefix
            + "' is not a valid prefix: use 1-31 of a-z 0-9 _, starting with a letter or _");
        prefix = null;
      }
      sandbox = new FleetConfig.Sandbox(b.requiredString("host", "give the sandbox server's host"),
          (int) b.integer("port", 5432, 1, 65535), b.oneOf("sslmode", SSL_MODES), b.pathValue("sslrootcert"),
          b.requiredString("user", "give a role with CREATEDB on the sandbox server"), b.secret("password", "password"),
          prefix == null ? "pgfleet_rt_" : prefix);
    }
    Map<String, List<String>> assertions = s.entries("assertions", (glob, path, n) -> {
      if (ConfigReader.absent(n) || !n.isArray()) {
        reader.problem(path, "expected a list of SQL queries each returning one boolean, got "
            + (ConfigReader.absent(n) ? "nothing" : ConfigReader.describe(n)));
        return List.of();
      }
      List<String> queries = new ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        JsonNode q = n.get(i);
        if (ConfigReader.absent(q) || q.isContainerNode() || q.asText().isBlank()) {
          reader.problem(ConfigReader.index(path, i), "expected a SQL query, got "
              + (ConfigReader.absent(q) ? "nothing" : ConfigReader.describe(q)));
        } else {
          queries.add(q.asText());
        }
      }
      return List.copyOf(queries);
    });
    return new FleetConfig.RestoreTests(sandbox, s.strings("include", List.of("*")),
        (int) s.integer("sampleEvery", 1, 1, 10_000), Collections.unmodifiableMap(assertions),
        s.duration("timeout", Duration.ofHours(6)));
  }

  private static FleetConfig.Alerts alerts(ConfigReader reader, Section s) {
    FleetConfig.Alerts d = FleetConfig.Alerts.NONE;
    List<FleetConfig.Webhook> hooks = new ArrayList<>();
    JsonNode list = s.get("webhooks");
    if (!ConfigReader.absent(list) && !list.isArray()) {
      reader.problem(s.path("webhooks"), "expected a list of webhooks (name, url, format), got "
          + ConfigReader.describe(list));
    } else if (list != null && list.isArray()) {
      Map<String, String> seen = new HashMap<>();
      for (int i = 0; i < list.size(); i++) {
        Section w = new Section(reader, ConfigReader.index(s.path("webhooks"), i), list.get(i), WEBHOOK_KEYS);
        if (!w.present()) {
          continue;
        }
        String name = w.requiredString("name", "give the webhook a name (used in logs and metrics)");
        if (name != null) {
          String first = seen.putIfAbsent(name, w.path("name"));
          if (first != null) {
            reader.problem(w.path("name"), "duplicate webhook name '" + name + "' (also " + first + ")");
          }
        }
        String url = null;
        FleetConfig.SecretRef ref = null;
        JsonNode u = w.get("url");
        if (ConfigReader.absent(u)) {
          reader.problem(w.path("url"), "required: an http(s) URL, or {env: VARIABLE} / {file: PATH} when it holds a"
              + " secret");
        } else if (u.isObject()) {
          ref = w.secret("url", "webhook URL");
        } else {
          url = u.asText();
          if (!url.startsWith("http://") && !url.startsWith("https://")) {
            reader.problem(w.path("url"), "'" + url + "' is not an http(s) URL");
          }
        }
        String format = w.oneOf("format", List.of("json", "slack"));
        hooks.add(new FleetConfig.Webhook(name, url, ref, format == null ? "json" : format));
      }
    }
    return new FleetConfig.Alerts(List.copyOf(hooks), s.duration("missedGrace", d.missedGrace()),
        s.duration("dedupWindow", d.dedupWindow()), (int) s.integer("maxPerMinute", d.maxPerMinute(), 1, 10_000));
  }

  private static FleetConfig.Worker worker(Section s) {
    return new FleetConfig.Worker(
        s.matching("id", WORKER_ID, "use 1-64 of A-Z a-z 0-9 _ . -"),
        (int) s.integer("slots", DEFAULT_WORKER.slots(), 1, 64),
        (int) s.integer("zstdLevel", DEFAULT_WORKER.zstdLevel(), 1, 19),
        (int) s.integer("metricsPort", DEFAULT_WORKER.metricsPort(), -1, 65535),
        s.duration("stallTimeout", DEFAULT_WORKER.stallTimeout()));
  }
}
