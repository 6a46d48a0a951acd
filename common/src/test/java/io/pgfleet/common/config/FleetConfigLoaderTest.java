package io.pgfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.storage.ResilientStorage;
import io.pgfleet.common.task.DumpFilter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FleetConfigLoaderTest {
  private static final Path BASE = Path.of("/etc/pgfleet");
  private static final String SECRET = "Hunter2-Secret";

  private static final String MINIMAL = """
      repository:
        url: /var/backups/pgfleet
      clusters:
        - name: a
          host: db1
          user: backup
      """;

  static final String FULL = """
      kafka:
        bootstrapServers: "k1:9092,k2:9092"
        properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
        secretProperties:
          sasl.jaas.config: {env: KAFKA_JAAS}
        taskPartitions: 48
        replication: 3
      repository:
        url: gs://bucket/prefix
        encryptionKey: {file: /etc/pgfleet/master.key}
      clusters:
        - name: client-a
          host: db1.example.com
          port: 5432
          sslmode: require
          user: backup
          password: {env: CLIENT_A_PGPASSWORD}
          databases:
            include: ["*"]
            exclude: ["scratch_*"]
            filters:
              "billing*":
                schemas: [public]
                excludeSchemas: [tmp]
                excludeTables: ["public.big_log"]
                excludeTableData: ["audit.*"]
          schedule:
            cron: "0 2 * * *"
            timeZone: Europe/Berlin
          limits:
            maxRuns: 2
            maxTasks: 4
      coordinator:
        http: {host: 0.0.0.0, port: 8080}
        apiToken: {env: PGFLEET_API_TOKEN}
        maxRuns: 16
        startTimeout: 2m
        maxRunAttempts: 2
      worker:
        id: worker-1
        slots: 4
        zstdLevel: 1
      pgBinDirs: [/usr/lib/postgresql/17/bin]
      """;

  private static FleetConfig parse(String yaml) {
    return FleetConfigLoader.parse(yaml, BASE);
  }

  private static List<String> problems(String yaml) {
    return catchThrowableOfType(ConfigException.class, () -> parse(yaml)).problems();
  }

  /** The minimal config with {@code lines} appended to its only cluster. */
  private static String cluster(String lines) {
    return MINIMAL + lines.indent(4);
  }

  @Test
  void fullExampleParsesIntoRecords() {
    FleetConfig c = parse(FULL);
    assertThat(c.kafka()).isEqualTo(new FleetConfig.Kafka("k1:9092,k2:9092",
        Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "PLAIN"),
        Map.of("sasl.jaas.config", new FleetConfig.SecretRef("KAFKA_JAAS", null)), 48, (short) 3));
    assertThat(c.repository()).isEqualTo(new FleetConfig.Repository("gs://bucket/prefix",
        new FleetConfig.SecretRef(null, Path.of("/etc/pgfleet/master.key"))));
    FleetConfig.Databases databases = new FleetConfig.Databases(List.of("*"), List.of("scratch_*"),
        Map.of("billing*", new DumpFilter(List.of("public"), List.of("tmp"), List.of("public.big_log"),
            List.of("audit.*"))));
    assertThat(c.clusters()).containsExactly(new FleetConfig.Cluster("client-a", "db1.example.com", 5432, "require",
        "backup", new FleetConfig.SecretRef("CLIENT_A_PGPASSWORD", null), databases,
        new FleetConfig.Schedule("0 2 * * *", ZoneId.of("Europe/Berlin")), new FleetConfig.Limits(2, 4)));
    assertThat(c.coordinator()).isEqualTo(new FleetConfig.Coordinator(new FleetConfig.Http("0.0.0.0", 8080),
        new FleetConfig.SecretRef("PGFLEET_API_TOKEN", null), 16, Duration.ofMinutes(2), 2));
    assertThat(c.worker()).isEqualTo(new FleetConfig.Worker("worker-1", 4, 1));
    assertThat(c.pgBinDirs()).containsExactly(Path.of("/usr/lib/postgresql/17/bin"));
    assertThat(c.cluster("client-a")).isPresent();
  }

  /** sslmode and sslrootcert reach both pgjdbc (properties) and libpq (PGSSLMODE, PGSSLROOTCERT for pg_dump). */
  @Test
  void tlsSettingsReachJdbcAndLibpq() {
    FleetConfig c = parse("""
        repository: {url: /var/backups/pgfleet}
        clusters:
          - {name: a, host: db1, user: backup, sslmode: verify-full, sslrootcert: certs/ca.pem}
        restoreTests:
          sandbox: {host: sb, user: rt, sslmode: verify-ca, sslrootcert: /etc/ssl/sandbox-ca.pem}
        """);
    FleetConfig.Cluster a = c.clusters().get(0);
    assertThat(a.sslrootcert()).isAbsolute().endsWithRaw(Path.of("certs", "ca.pem"));
    var conn = a.connection("orders");
    assertThat(conn.jdbcProperties("t").getProperty("sslmode")).isEqualTo("verify-full");
    assertThat(conn.jdbcProperties("t").getProperty("sslrootcert")).isEqualTo(a.sslrootcert().toString());
    assertThat(conn.libpqEnvironment()).containsEntry("PGSSLMODE", "verify-full")
        .containsEntry("PGSSLROOTCERT", a.sslrootcert().toString());
    assertThat(c.restoreTests().sandbox().tlsParameters()).containsEntry("sslmode", "verify-ca")
        .containsEntry("sslrootcert", Path.of("/etc/ssl/sandbox-ca.pem").toString());
  }

  @Test
  void repositoryRetryAndCircuitSettingsAreReadWithDefaultsForWhatIsLeftOut() {
    FleetConfig c = parse(MINIMAL.replace("url: /var/backups/pgfleet", """
        url: /var/backups/pgfleet
          retry: {maxAttempts: 3, firstBackoff: 200ms}
          circuit: {failuresToOpen: 20, openFor: 1m}"""));
    assertThat(c.repository().resilience()).isEqualTo(new ResilientStorage.Settings(3, Duration.ofMillis(200),
        Duration.ofSeconds(8), 20, Duration.ofMinutes(1), 2));
    assertThat(parse(MINIMAL).repository().resilience()).isEqualTo(ResilientStorage.Settings.DEFAULT);
  }

  @Test
  void minimalConfigGetsEveryDefault() {
    FleetConfig c = parse(MINIMAL);
    assertThat(c.kafka()).isEqualTo(new FleetConfig.Kafka(null, Map.of(), Map.of(), 48, (short) 1));
    assertThat(c.repository()).isEqualTo(new FleetConfig.Repository("/var/backups/pgfleet", null));
    assertThat(c.clusters()).containsExactly(new FleetConfig.Cluster("a", "db1", 5432, null, "backup", null,
        new FleetConfig.Databases(List.of("*"), List.of(), Map.of()), null, FleetConfig.Limits.DEFAULT));
    assertThat(c.coordinator()).isEqualTo(new FleetConfig.Coordinator(new FleetConfig.Http("0.0.0.0", 8080), null,
        16, Duration.ofSeconds(120), 2));
    assertThat(c.worker()).isEqualTo(new FleetConfig.Worker(null, 2, 1));
    assertThat(c.pgBinDirs()).isEmpty();
  }

  @Test
  void scheduleWithoutTimeZoneIsUtcAndDurationsTakeEveryForm() {
    FleetConfig c = parse(cluster("schedule: {cron: '*/30 1-5 * * 1-5'}") + """
        coordinator:
          startTimeout: PT90S
        """);
    assertThat(c.clusters().get(0).schedule()).isEqualTo(new FleetConfig.Schedule("*/30 1-5 * * 1-5", java.time.ZoneId.of("UTC")));
    assertThat(c.coordinator().startTimeout()).isEqualTo(Duration.ofSeconds(90));
    for (var e : Map.of("30s", Duration.ofSeconds(30), "1h", Duration.ofHours(1), "500ms", Duration.ofMillis(500),
        "2m", Duration.ofMinutes(2)).entrySet()) {
      assertThat(parse(MINIMAL + "coordinator: {startTimeout: " + e.getKey() + "}").coordinator().startTimeout())
          .isEqualTo(e.getValue());
    }
  }

  static Stream<Arguments> invalidConfigurations() {
    return Stream.of(
        arguments(MINIMAL + "kafka: {taskPartitions: many}", "kafka.taskPartitions",
            "expected an integer, got 'many'"),
        arguments(MINIMAL + "kafka: {taskPartitions: 0}", "kafka.taskPartitions", "between 1 and 10000, got 0"),
        arguments(MINIMAL + "kafka: {replication: 40000}", "kafka.replication", "between 1 and 32767"),
        arguments(MINIMAL + "kafka: {bootstrapServers: 'k1:9092,k2'}", "kafka.bootstrapServers",
            "'k2' is not host:port"),
        arguments(MINIMAL + "kafka: {brokers: k1}", "kafka.brokers",
            "unknown key; expected one of: bootstrapServers, properties"),
        arguments(MINIMAL + "kafka: {secretProperties: {sasl.jaas.config: x}}",
            "kafka.secretProperties[\"sasl.jaas.config\"]", "an inline secret is refused"),
        arguments(MINIMAL + "kafka: {properties: {ssl.truststore.password: x}}",
            "kafka.properties[\"ssl.truststore.password\"]", "move it to kafka.secretProperties"),
        arguments(MINIMAL + "kafka: {properties: {linger.ms: [1]}}", "kafka.properties[\"linger.ms\"]",
            "expected a string value"),
        arguments("clusters: [{name: a, host: h, user: u}]", "repository", "required"),
        arguments(MINIMAL.replace("/var/backups/pgfleet", "ftp://host/x"), "repository.url", "unsupported scheme"),
        arguments(MINIMAL.replace("/var/backups/pgfleet", "s3:///x"), "repository.url", "no bucket"),
        arguments(MINIMAL + "repository: {url: /x}", "configuration", "Duplicate field 'repository'"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "encryptionKey: {file: k}"), "repository.url",
            "required"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "url: /x\n  encryptionKey: {env: A, file: k}"),
            "repository.encryptionKey", "exactly one of env, file or command, not 2"),
        arguments(cluster("password: {command: []}"), "clusters[0].password.command",
            "expected a program and its arguments"),
        arguments(cluster("password: {command: ['', x]}"), "clusters[0].password.command[0]",
            "expected the program's name or path"),
        arguments(cluster("password: {command: [vault, {a: b}]}"), "clusters[0].password.command[1]",
            "expected a string"),
        arguments("repository: {url: /x}\nclusters: []", "clusters", "at least one cluster"),
        arguments("repository: {url: /x}\nclusters: {name: a}", "clusters", "expected a list of clusters"),
        arguments("repository: {url: /x}\nclusters: [a]", "clusters[0]", "expected a mapping"),
        arguments(MINIMAL + "cluster: []", "cluster", "unknown key; expected one of: kafka, repository, clusters"),
        arguments(cluster("pasword: {env: X}"), "clusters[0].pasword",
            "unknown key; expected one of: name, host, port, sslmode, sslrootcert, user, password"),
        arguments(cluster("password: " + SECRET), "clusters[0].password",
            "an inline password is refused: give {env: VARIABLE}, {file: PATH} or {command: [PROGRAM, ARG...]}"),
        arguments(cluster("password: {env: 1BAD}"), "clusters[0].password.env",
            "not a valid environment variable name"),
        arguments(cluster("password: {}"), "clusters[0].password", "give one of env, file or command"),
        arguments(cluster("password: {value: x}"), "clusters[0].password.value", "unknown key"),
        arguments(MINIMAL.replace("name: a", "name: bad name!"), "clusters[0].name", "not a valid cluster name"),
        arguments(MINIMAL.replace("host: db1", "port: 5432"), "clusters[0].host", "required"),
        arguments(MINIMAL.replace("user: backup", "port: 5432"), "clusters[0].user", "required"),
        arguments(cluster("port: 70000"), "clusters[0].port", "between 1 and 65535, got 70000"),
        arguments(cluster("port: 5432.5"), "clusters[0].port", "expected an integer, got '5432.5'"),
        arguments(cluster("sslmode: maybe"), "clusters[0].sslmode", "is not one of: disable, allow, prefer"),
        arguments(cluster("schedule: {cron: '0 25 * * *'}"), "clusters[0].schedule.cron",
            "'0 25 * * *' is not a valid cron expression: "),
        arguments(cluster("schedule: {cron: '0 2 * *'}"), "clusters[0].schedule.cron", "it has 4 fields"),
        arguments(cluster("schedule: {cron: '0 2 * * *', timeZone: Mars/Olympus}"),
            "clusters[0].schedule.timeZone", "'Mars/Olympus' is not a valid time zone"),
        arguments(cluster("schedule: {timeZone: UTC}"), "clusters[0].schedule.cron", "required"),
        arguments(cluster("schedule: '0 2 * * *'"), "clusters[0].schedule", "expected a mapping with keys cron"),
        arguments(cluster("databases: {include: [a], list: [b]}"), "clusters[0].databases.list",
            "either list or include, not both"),
        arguments(cluster("databases: {include: []}"), "clusters[0].databases.include", "at least one pattern"),
        arguments(cluster("databases: {include: ['']}"), "clusters[0].databases.include[0]", "must not be empty"),
        arguments(cluster("databases: {exclude: scratch}"), "clusters[0].databases.exclude",
            "expected a list of strings"),
        arguments(cluster("databases: {list: ['bill*']}"), "clusters[0].databases.list[0]", "is a pattern"),
        arguments(cluster("databases: {filters: {'billing*': {tables: [x]}}}"),
            "clusters[0].databases.filters[\"billing*\"].tables", "unknown key; expected one of: schemas"),
        arguments(cluster("limits: {maxRuns: 0}"), "clusters[0].limits.maxRuns", "between 1 and 1000"),
        arguments(cluster("limits: {maxTasks: 10001}"), "clusters[0].limits.maxTasks", "between 1 and 10000"),
        arguments(MINIMAL + "  - {name: a, host: db2, user: u}", "clusters[1].name",
            "duplicate cluster name 'a' (also clusters[0].name)"),
        arguments(MINIMAL + "coordinator: {startTimeout: soon}", "coordinator.startTimeout",
            "expected a duration such as 30s"),
        arguments(MINIMAL + "coordinator: {startTimeout: 120}", "coordinator.startTimeout", "give a unit: 120s"),
        arguments(MINIMAL + "coordinator: {startTimeout: 0s}", "coordinator.startTimeout", "longer than zero"),
        arguments(MINIMAL + "coordinator: {http: {port: -1}}", "coordinator.http.port", "between 0 and 65535"),
        arguments(MINIMAL + "coordinator: {apiToken: " + SECRET + "}", "coordinator.apiToken",
            "an inline API token is refused"),
        arguments(MINIMAL + "coordinator: {maxRunAttempts: 11}", "coordinator.maxRunAttempts", "between 1 and 10"),
        arguments(MINIMAL + "coordinator: 5", "coordinator", "expected a mapping with keys http, apiToken"),
        arguments(MINIMAL + "worker: {slots: 65}", "worker.slots", "between 1 and 64"),
        arguments(MINIMAL + "worker: {zstdLevel: 22}", "worker.zstdLevel", "between 1 and 19"),
        arguments(MINIMAL + "worker: {id: 'a b'}", "worker.id", "'a b' is not valid"),
        arguments(MINIMAL + "pgBinDirs: /usr/bin", "pgBinDirs", "expected a list of strings"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "url: /r\n  retry: {maxAttempts: 0}"),
            "repository.retry.maxAttempts", "between 1 and 20"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "url: /r\n  retry: {firstBackoff: 2s, maxBackoff: 1s}"),
            "repository.retry.maxBackoff", "must not be shorter than firstBackoff"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "url: /r\n  retry: {attempts: 3}"),
            "repository.retry.attempts", "unknown key"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "url: /r\n  circuit: {openFor: 0s}"),
            "repository.circuit.openFor", "longer than zero"),
        arguments(MINIMAL.replace("url: /var/backups/pgfleet", "url: /r\n  circuit: {failuresToOpen: 0}"),
            "repository.circuit.failuresToOpen", "between 1 and 1000"));
  }

  @ParameterizedTest(name = "{1}: {2}")
  @MethodSource("invalidConfigurations")
  void invalidConfigurationIsRefusedWithItsPath(String yaml, String path, String phrase) {
    List<String> problems = problems(yaml);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith(path + ": ").contains(phrase);
  }

  @Test
  void misspeltKeyGetsASuggestion() {
    assertThat(problems(cluster("pasword: {env: X}")).get(0)).endsWith("(did you mean password?)");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    String yaml = """
        kafka:
          taskPartitions: many
        repository:
          url: ftp://nope
        clusters:
          - name: a
            host: db1
            user: backup
            password: hunter2
          - name: b
            host: db2
            pasword: {env: B}
            schedule: {cron: "0 25 * * *"}
          - name: a
            host: db3
            user: u
        worker: {slots: 0}
        """;
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
    assertThat(e.problems()).extracting(p -> p.substring(0, p.indexOf(": "))).containsExactly(
        "kafka.taskPartitions",
        "repository.url",
        "clusters[0].password",
        "clusters[1].pasword",
        "clusters[1].user",
        "clusters[1].schedule.cron",
        "clusters[2].name",
        "worker.slots");
    assertThat(e.getMessage()).isEqualTo(String.join("\n", e.problems()));
  }

  @Test
  void inlineSecretsNeverAppearInMessages() {
    List<String> yamls = List.of(
        cluster("password: " + SECRET),
        cluster("password: '" + SECRET + "'"),
        cluster("password: [" + SECRET + "]"),
        cluster("password: {value: " + SECRET + "}"),
        cluster("password: {env: '" + SECRET + " x'}"),
        cluster("password: {env: [" + SECRET + "]}"),
        MINIMAL + "kafka: {secretProperties: {ssl.key.password: " + SECRET + "}}",
        MINIMAL + "kafka: {properties: {sasl.jaas.config: " + SECRET + "}}",
        MINIMAL + "coordinator: {apiToken: " + SECRET + "}",
        MINIMAL.replace("url: /var/backups/pgfleet", "url: /x\n  encryptionKey: " + SECRET),
        // A syntax error on the password's own line: the message gives line and column, not the text.
        cluster("password: " + SECRET + ": {"),
        cluster("password: \"" + SECRET));
    for (String yaml : yamls) {
      ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
      assertThat(e).as(yaml).isNotNull();
      assertThat(e.getMessage()).as(yaml).doesNotContain(SECRET).doesNotContain("Hunter2");
    }
  }

  @Test
  void syntaxErrorNamesFileLineAndColumn(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("fleet.yaml");
    Files.writeString(file, "repository:\n  url: /x\nclusters:\n  - name: a\n   host: [db1\n");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> FleetConfigLoader.load(file));
    assertThat(e.problems()).hasSize(1);
    assertThat(e.problems().get(0)).startsWith(file + ": invalid YAML at line ").containsPattern("line \\d+, column \\d+");
  }

  @Test
  void emptyFileSaysWhatItMustHold(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("fleet.yaml");
    Files.writeString(file, "# nothing yet\n");
    assertThatThrownBy(() -> FleetConfigLoader.load(file))
        .isInstanceOf(ConfigException.class)
        .hasMessage(file + ": the file is empty; it must hold at least repository (url) and clusters"
            + " (each with name, host and user)");
    assertThat(problems("")).hasSize(1);
  }

  @Test
  void topLevelMustBeAMapping() {
    assertThat(problems("- a\n- b")).containsExactly("configuration: expected a mapping with keys kafka, repository,"
        + " clusters, coordinator, worker, pgBinDirs, retention, restoreTests, alerts at the top level, got a list");
  }

  @Test
  void missingFileIsOneProblemNamingIt(@TempDir Path dir) {
    Path file = dir.resolve("absent.yaml");
    assertThatThrownBy(() -> FleetConfigLoader.load(file)).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(file + ": cannot read the configuration file (NoSuchFileException)");
  }

  @Test
  void listShorthandMeansIncludeExactly() {
    FleetConfig.Databases d = parse(cluster("databases: {list: [billing, crm], exclude: [crm]}"))
        .clusters().get(0).databases();
    assertThat(d.include()).containsExactly("billing", "crm");
    assertThat(d.selects("billing")).isTrue();
    assertThat(d.selects("billing2")).isFalse();
    assertThat(d.selects("crm")).isFalse();
  }

  @Test
  void globsSelectDatabasesAndTheFirstMatchingFilterWins() {
    FleetConfig.Databases d = parse(cluster("""
        databases:
          include: ["client_*", "billing"]
          exclude: ["*_scratch", "client_?"]
          filters:
            "client_a*": {excludeTableData: ["audit.*"]}
            "client_*": {schemas: [public]}
        """)).clusters().get(0).databases();
    assertThat(d.selects("client_acme")).isTrue();
    assertThat(d.selects("billing")).isTrue();
    assertThat(d.selects("client_acme_scratch")).isFalse();
    assertThat(d.selects("client_x")).isFalse();
    assertThat(d.selects("Billing")).isFalse();
    assertThat(d.selects("postgres")).isFalse();
    assertThat(d.filtersFor("client_acme"))
        .isEqualTo(new DumpFilter(List.of(), List.of(), List.of(), List.of("audit.*")));
    assertThat(d.filtersFor("client_bob")).isEqualTo(new DumpFilter(List.of("public"), List.of(), List.of(),
        List.of()));
    assertThat(d.filtersFor("billing")).isSameAs(DumpFilter.NONE);
  }

  @Test
  void relativePathsResolveAgainstTheConfigDirectoryAndSecretsResolveWhenUsed(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("client-a.pw"), SECRET + "\n");
    Files.createDirectories(dir.resolve("bin17"));
    Path file = dir.resolve("fleet.yaml");
    Files.writeString(file, cluster("sslmode: verify-full\npassword: {file: client-a.pw}") + "pgBinDirs: [bin17]\n");

    FleetConfig config = FleetConfigLoader.load(file);
    FleetConfig.Cluster c = config.clusters().get(0);
    assertThat(c.password().file()).isEqualTo(dir.toAbsolutePath().resolve("client-a.pw"));
    assertThat(config.pgBinDirs()).containsExactly(dir.toAbsolutePath().resolve("bin17"));

    PgConnectionInfo info = c.connection("billing");
    assertThat(info.redacted()).isEqualTo("backup@db1:5432/billing");
    assertThat(info.jdbcProperties("test").getProperty("password")).isEqualTo(SECRET);
    assertThat(info.jdbcProperties("test").getProperty("sslmode")).isEqualTo("verify-full");
    assertThat(info.libpqEnvironment()).containsEntry("PGSSLMODE", "verify-full").containsEntry("PGPASSWORD", SECRET);
  }

  @Test
  void unreadableSecretNamesTheClusterAndTheFileOrVariable(@TempDir Path dir) {
    FleetConfig.Cluster c = FleetConfigLoader.parse(cluster("password: {file: missing.pw}"), dir).clusters().get(0);
    assertThatThrownBy(() -> c.connection("billing"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cluster a")
        .hasMessageContaining(dir.toAbsolutePath().resolve("missing.pw").toString());

    FleetConfig.Cluster e = parse(cluster("password: {env: PGFLEET_TEST_SURELY_UNSET_4711}")).clusters().get(0);
    assertThatThrownBy(() -> e.connection("billing")).hasMessageContaining("PGFLEET_TEST_SURELY_UNSET_4711");
  }

  @Test
  void clusterWithoutPasswordOrSslmodeConnectsWithLibpqDefaults() {
    PgConnectionInfo info = parse(MINIMAL).clusters().get(0).connection("postgres");
    assertThat(info.hasPassword()).isFalse();
    assertThat(info.libpqEnvironment()).doesNotContainKey("PGSSLMODE");
  }
}
