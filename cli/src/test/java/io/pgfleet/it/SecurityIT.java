package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.github.luben.zstd.ZstdInputStream;
import com.sun.net.httpserver.HttpServer;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.event.CloudEvent;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.json.Json;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.repository.RepositoryLayout;
import io.pgfleet.it.support.Cli;
import io.pgfleet.it.support.DatabaseComparison;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.FleetProcesses;
import io.pgfleet.it.support.PasswordPostgres;
import io.pgfleet.it.support.TestKafka;
import io.pgfleet.it.support.TestPostgres;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The security properties of a deployed fleet, on one run with known secrets: a standalone fleet process (its
 * whole stdout and stderr captured: JSON log lines, and stack traces of unexpected errors with --debug) over a
 * broker of the test's, backing up a PostgreSQL server that takes a distinctive password over TLS only (verify-full
 * against a CA made here), with an API token, a Kafka secret property, a webhook URL holding a secret and an
 * encryption key; restores and verifies run as processes of the distribution with the password in their URL; a
 * second cluster with a wrong password fails and alerts. Then: no secret, in any encoding, in any record (key,
 * value, header) of any topic on the broker, any log line, any webhook body, the metrics or any object of the
 * repository; no row in plaintext in the repository; a database named {@code ../x} with tables named like paths
 * round-trips without one object key derived from a table name and nothing written outside the repository; every
 * /api/v1 operation of the served OpenAPI document refuses a missing or wrong token; TLS misconfigurations fail
 * with one line naming the server and what to do. docs/RELIABILITY.md ("Security") maps each property to its check.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecurityIT {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String RUN = hex(4);
  /** Characters a URL must encode, so the encoded and base64 forms differ from the raw one. */
  private static final String PASSWORD = "Pgf/Secr3t+" + RUN + "@pw%&=?" + hex(4);
  private static final String WRONG_PASSWORD = "Wr0ng/Secr3t+" + RUN + hex(4);
  private static final String TOKEN = "api-t0ken-" + RUN + "-" + hex(8);
  private static final String KAFKA_SECRET = "kafka-tru5tstore-" + RUN + "-" + hex(8);
  private static final String WEBHOOK_SECRET = "hook-" + RUN + "-" + hex(8);
  /** In every row of both databases: it must not appear in the (encrypted) repository. */
  private static final String ROW_MARK = "r0w-plaintext-" + RUN;
  private static final String APP_DB = "sec_app";
  private static final String TRAVERSAL_DB = "../x";
  /** Schema and name of the path-like tables of {@link #TRAVERSAL_DB}. */
  private static final List<List<String>> TRAVERSAL_TABLES = List.of(List.of("../../etc", "passwd"),
      List.of("public", "a/b\\c"), List.of("public", ".."), List.of("public", "dots.in.a.name"),
      List.of("..\\..\\windows", "system32"), List.of("public", "Grüße ☃ 表/../.."));
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final TestPostgres LOCAL = TestPostgres.get();

  private static PasswordPostgres server;
  /** The TLS server as the fleet and the CLI reach it: verify-full against the test's CA. */
  private static TestPostgres verified;
  private static Path dir;
  private static Path repo;
  private static Path ca;
  private static Path otherCa;
  private static Path keyFile;
  private static String keyText;
  private static byte[] keyBytes;
  private static EmbeddedKafka kafka;
  private static EventLog events;
  private static FleetProcesses fleet;
  private static HttpServer webhook;
  private static final List<String> webhookBodies = new CopyOnWriteArrayList<>();
  private static final List<String> inProcessOutput = new CopyOnWriteArrayList<>();
  private static int apiPort;
  private static Set<String> filesBefore;
  private static FileTime etcPasswdBefore;
  private static final Map<String, String> backupIds = new LinkedHashMap<>();

  @BeforeAll
  static void setUp() throws Exception {
    Optional<Path> bin = PasswordPostgres.findBinDir();
    assumeTrue(bin.isPresent(), "no initdb under /usr/lib/postgresql: cannot start a TLS, password-checking server");
    dir = Files.createTempDirectory("pgfleet-security-it-");
    // Four levels down: a key that climbed out of the repository would still land under dir, where it is seen.
    repo = dir.resolve("a/b/c/repo");
    makeCertificates(dir.resolve("tls"));
    server = PasswordPostgres.start(bin.get(), PASSWORD, new PasswordPostgres.Tls(dir.resolve("tls/server.crt"),
        dir.resolve("tls/server.key"), "127.0.0.1,127.0.0.2"));
    verified = server.handle("127.0.0.1", tlsQuery("verify-full", ca));
    fill(APP_DB, List.of(List.of("public", "customers"), List.of("billing", "invoices")));
    fill(TRAVERSAL_DB, TRAVERSAL_TABLES);

    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    keyBytes = key;
    keyText = Base64.getEncoder().encodeToString(key);
    keyFile = dir.resolve("master.key");
    Files.writeString(keyFile, keyText + "\n");
    Files.writeString(dir.resolve("pw-main"), PASSWORD);
    Files.writeString(dir.resolve("pw-broken"), WRONG_PASSWORD);

    webhook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    webhook.createContext("/", ex -> {
      webhookBodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    webhook.start();

    kafka = EmbeddedKafka.start();
    events = new EventLog(kafka.bootstrapServers());
    Path config = dir.resolve("fleet.yaml");
    Files.writeString(config, config());
    filesBefore = files(dir);
    etcPasswdBefore = Files.getLastModifiedTime(Path.of("/etc/passwd"));

    Map<String, String> env = new LinkedHashMap<>();
    env.put("SEC_IT_TOKEN", TOKEN);
    env.put("SEC_IT_KAFKA_SECRET", KAFKA_SECRET);
    env.put("SEC_IT_WEBHOOK", "http://127.0.0.1:" + webhook.getAddress().getPort() + "/hooks/" + WEBHOOK_SECRET);
    fleet = new FleetProcesses("SecurityIT", env);
    fleet.start("fleet", "--debug", "standalone", "--config", config.toString(), "--workers", "2",
        "--log-format", "json", "--instance-id", "security-it");
    apiPort = fleet.apiPort("fleet", Duration.ofSeconds(90));
  }

  private static String config() {
    String cluster = "    host: 127.0.0.1\n"
        + "    port: " + server.port() + "\n"
        + "    sslmode: verify-full\n"
        + "    sslrootcert: " + ca + "\n"
        + "    user: postgres\n";
    String otherCaCluster = cluster.replace(ca.toString(), otherCa.toString());
    return "kafka:\n"
        + "  bootstrapServers: \"" + kafka.bootstrapServers() + "\"\n"
        + "  taskPartitions: 4\n"
        // A secret Kafka setting: the PLAINTEXT listener ignores it, but every Kafka client of the fleet is given it.
        + "  secretProperties:\n"
        + "    ssl.truststore.password: {env: SEC_IT_KAFKA_SECRET}\n"
        + "repository:\n"
        + "  url: " + repo + "\n"
        + "  encryptionKey: {file: " + keyFile + "}\n"
        + "clusters:\n"
        + "  - name: main\n" + cluster
        + "    password: {file: " + dir.resolve("pw-main") + "}\n"
        + "    databases: {list: [\"" + APP_DB + "\", \"" + TRAVERSAL_DB + "\"]}\n"
        + "  - name: broken\n" + cluster
        + "    password: {file: " + dir.resolve("pw-broken") + "}\n"
        + "    databases: {list: [\"" + APP_DB + "\"]}\n"
        + "  - name: wrong-ca\n" + otherCaCluster
        + "    password: {file: " + dir.resolve("pw-main") + "}\n"
        + "    databases: {list: [\"" + APP_DB + "\"]}\n"
        + "coordinator:\n"
        + "  http: {host: 127.0.0.1, port: 0}\n"
        + "  apiToken: {env: SEC_IT_TOKEN}\n"
        + "  startTimeout: 60s\n"
        + "worker:\n"
        + "  slots: 2\n"
        + "alerts:\n"
        + "  webhooks:\n"
        + "    - {name: ops, url: {env: SEC_IT_WEBHOOK}}\n";
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
    if (events != null) {
      events.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    if (webhook != null) {
      webhook.stop(0);
    }
    if (server != null) {
      server.close();
    }
    if (dir != null) {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  /**
   * Back up both databases through the fleet (TLS verify-full from the YAML), restore them with the CLI (TLS
   * verify-full from the URL, password in the URL) and compare; verify with the key; a wrong password fails, in the
   * fleet and in the CLI. Then the repository: object keys, no row in plaintext, nothing outside it.
   */
  @Test
  @Order(1)
  void backupRestoreAndVerifyOverTlsWithPathLikeNamesKeepEveryObjectInsideTheRepository() throws Exception {
    try (ToolWatcher tools = new ToolWatcher()) {
      backUpRestoreAndVerify();
      // pg_dump, pg_restore and psql get the password in their environment, never on their command line (which
      // any local user can read in /proc or ps). Sampled, so only the invocations it caught are checked.
      System.out.println("SecurityIT: client tools whose command lines were sampled: " + tools.seen);
      assertThat(tools.seen).as("client tool invocations sampled").isNotEmpty();
      assertThat(tools.leaks).as("client tool command lines holding the password").isEmpty();
    }
    assertObjectKeysAreSafe();
    assertNoRowInPlaintext();
    assertNothingWrittenOutsideTheRepository();
  }

  private static void backUpRestoreAndVerify() throws Exception {
    awaitLeader();
    String appRun = postBackup("main", APP_DB);
    String traversalRun = postBackup("main", TRAVERSAL_DB);
    String brokenRun = postBackup("broken", APP_DB);
    events.await("both backups of cluster main to complete", Duration.ofSeconds(90), evs ->
        completed(evs, appRun).isPresent() && completed(evs, traversalRun).isPresent());
    backupIds.put(APP_DB, completed(events.all(), appRun).orElseThrow());
    backupIds.put(TRAVERSAL_DB, completed(events.all(), traversalRun).orElseThrow());
    assertThat(failureReason(brokenRun)).contains("password authentication failed");

    // The fleet file's sslrootcert is checked, not only passed: a CA that did not sign the server's certificate.
    assertThat(failureReason(postBackup("wrong-ca", APP_DB)))
        .contains("is not signed by a CA in sslrootcert=" + otherCa);

    for (String db : List.of(APP_DB, TRAVERSAL_DB)) {
      String target = db + "_restored";
      verified.dropDatabase(target);
      Cli.Result r = cliProcess("restore-" + (db.equals(APP_DB) ? "app" : "traversal"), "restore", "--repo",
          repo.toString(), "--backup", backupIds.get(db), "--target", verified.url(target),
          "--encryption-key-file", keyFile.toString());
      assertThat(r.exitCode()).as("restore of %s: %s", db, r.err()).isZero();
      DatabaseComparison.compare(verified, db, target).assertEqual();
    }
    Cli.Result v = cliProcess("verify", "verify", "--repo", repo.toString(), "--backup", backupIds.get(APP_DB),
        "--encryption-key-file", keyFile.toString());
    assertThat(v.exitCode()).as(v.err()).isZero();
    assertThat(v.err()).contains("every encrypted chunk authenticated");
    Cli.Result wrong = cliProcess("backup-wrong-password", "backup", "postgresql://postgres:"
        + urlPassword(WRONG_PASSWORD) + "@127.0.0.1:" + server.port() + "/" + APP_DB + "?"
        + tlsQuery("verify-full", ca),
        "--repo", dir.resolve("unused-repo").toString());
    assertThat(wrong.exitCode()).isEqualTo(1);
    assertThat(wrong.errorLines()).as(wrong.err()).hasSize(1);
    assertThat(wrong.errorLines().get(0)).contains("password authentication failed for user 'postgres'");
  }

  /**
   * Every operation of the OpenAPI document the running coordinator serves: those not marked open refuse a request
   * without the token or with a wrong one (401); /health, /ready and the document itself answer without. The same
   * over the in-memory API, with each operation's parameters, is OpenApiDocumentTest; this is the deployed wiring
   * (the token read from the environment by the configuration).
   */
  @Test
  @Order(2)
  void everyApiOperationOfTheServedDocumentRefusesAMissingOrWrongToken() throws Exception {
    HttpResponse<String> doc = send("GET", "/openapi.yaml", null);
    assertThat(doc.statusCode()).isEqualTo(200);
    JsonNode paths = new YAMLMapper().readTree(doc.body()).get("paths");
    Map<String, String> samples = Map.of("cluster", "main", "database", APP_DB, "backupId",
        backupIds.getOrDefault(APP_DB, "20200101T000000Z-abcdef"), "runId", "r-1", "jobId", "j-1");
    int refused = 0;
    Iterator<Map.Entry<String, JsonNode>> it = paths.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> path = it.next();
      String uri = path.getKey();
      for (Map.Entry<String, String> s : samples.entrySet()) {
        uri = uri.replace("{" + s.getKey() + "}", s.getValue());
      }
      Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields();
      while (ops.hasNext()) {
        Map.Entry<String, JsonNode> op = ops.next();
        if (!Set.of("get", "post", "put", "delete", "patch").contains(op.getKey())) {
          continue;
        }
        String method = op.getKey().toUpperCase();
        JsonNode security = op.getValue().get("security");
        if (security != null && security.isEmpty()) {
          assertThat(send(method, uri, null).statusCode()).as("%s %s without a token", method, uri)
              .isNotIn(401, 403);
          continue;
        }
        for (String token : new String[] {null, "wrong-" + TOKEN, TOKEN.substring(1)}) {
          HttpResponse<String> r = send(method, uri, token);
          assertThat(r.statusCode()).as("%s %s with token %s", method, uri, token).isEqualTo(401);
          assertThat(r.body()).doesNotContain(TOKEN.substring(1));
        }
        refused++;
      }
    }
    assertThat(refused).as("protected operations in the served document").isGreaterThanOrEqualTo(10);
    assertThat(send("GET", "/health", null).statusCode()).isEqualTo(200);
  }

  /**
   * TLS from a URL, with the standard libpq parameters: verify-full against the right CA backs up (pgjdbc and the
   * workers' pg_dump both verify); a CA that did not sign the certificate, a host the certificate does not name and
   * a plaintext connection to a hostssl-only server are refused; sslmode=require to a server without TLS too. Each
   * with one line naming the server and what to do.
   */
  @Test
  @Order(3)
  void tlsFromTheUrlVerifiesTheServerAndMisconfigurationsFailWithOneLine() throws Exception {
    Path tlsRepo = dir.resolve("a/b/c/tls-repo");
    // Not the fleet's broker: a CLI backup with --kafka publishes to the same task topic and worker group as any
    // fleet on that broker, whose workers do not know the CLI's cluster; the CLI refuses a fleet's broker.
    Cli.Result refused = cli("backup", verified.url(APP_DB), "--repo", tlsRepo.toString(), "--workers", "1",
        "--kafka", kafka.bootstrapServers());
    assertOneLine(refused, kafka.bootstrapServers(), "is used by a pgfleet fleet");
    Cli.Result ok = cli("backup", verified.url(APP_DB), "--repo", tlsRepo.toString(), "--workers", "1",
        "--kafka", TestKafka.bootstrapServers(), "--encryption-key-file", keyFile.toString());
    assertThat(ok.exitCode()).as(ok.err()).isZero();

    String endpoint = "127.0.0.1:" + server.port();
    Cli.Result wrongCa = cli("backup", server.handle("127.0.0.1", tlsQuery("verify-full", otherCa)).url(APP_DB),
        "--repo", tlsRepo.toString());
    assertOneLine(wrongCa, endpoint, "is not signed by a CA in sslrootcert=" + otherCa);

    Path missingCa = dir.resolve("no-such-ca.pem");
    Cli.Result unreadable = cli("backup", server.handle("127.0.0.1", tlsQuery("verify-full", missingCa))
        .url(APP_DB), "--repo", tlsRepo.toString());
    assertOneLine(unreadable, endpoint, "cannot read the CA certificate sslrootcert=" + missingCa);

    Cli.Result mismatch = cli("backup", server.handle("127.0.0.2", tlsQuery("verify-full", ca)).url(APP_DB),
        "--repo", tlsRepo.toString());
    assertOneLine(mismatch, "127.0.0.2:" + server.port(), "does not name host '127.0.0.2'");
    assertThat(mismatch.errorLines().get(0)).contains("verify-ca");
    // What that message offers works: verify-ca checks the CA, not the name.
    Cli.Result caOnly = cli("backup", server.handle("127.0.0.2", tlsQuery("verify-ca", ca)).url(APP_DB),
        "--repo", tlsRepo.toString(), "--workers", "1", "--kafka", TestKafka.bootstrapServers(),
        "--encryption-key-file", keyFile.toString());
    assertThat(caOnly.exitCode()).as(caOnly.err()).isZero();

    Cli.Result plain = cli("backup", server.handle("127.0.0.1", "sslmode=disable").url(APP_DB),
        "--repo", tlsRepo.toString());
    assertOneLine(plain, endpoint, "refused a connection without TLS");
    assertThat(plain.errorLines().get(0)).contains("sslmode=verify-full");

    Cli.Result require = cli("backup", "postgresql://" + LOCAL.user() + "@" + LOCAL.host() + ":" + LOCAL.port()
        + "/postgres?sslmode=require", "--repo", tlsRepo.toString());
    assertOneLine(require, LOCAL.host() + ":" + LOCAL.port(), "does not accept TLS connections");
  }

  /**
   * Last, over everything the run produced: every record of every topic on the broker (internal ones included),
   * every line every pgfleet process logged, every webhook body, the metrics and every object of the repository
   * hold no secret in any of the forms it could leak in.
   */
  @Test
  @Order(4)
  void noSecretInAnyTopicLogLineWebhookMetricOrObject() throws Exception {
    Map<String, List<byte[]>> needles = needles();
    // The forms are findable: a base64 blob holding the password at any offset, and an encoded URL, are caught.
    for (String probe : List.of(Base64.getEncoder().encodeToString(("postgres:" + PASSWORD).getBytes(
        StandardCharsets.UTF_8)), Base64.getEncoder().encodeToString(("ab:" + PASSWORD + "!").getBytes(
        StandardCharsets.UTF_8)), "postgresql://postgres:" + urlPassword(PASSWORD) + "@h/db")) {
      assertThat(leaks(needles, probe.getBytes(StandardCharsets.UTF_8))).as(probe).contains("database password");
    }

    List<String> found = new ArrayList<>();
    Map<String, Integer> recordsPerTopic = new LinkedHashMap<>();
    for (Map.Entry<String, List<byte[]>> topic : topicContents(kafka.bootstrapServers()).entrySet()) {
      recordsPerTopic.put(topic.getKey(), topic.getValue().size());
      for (byte[] b : topic.getValue()) {
        leaks(needles, b).forEach(s -> found.add(s + " in a record of topic " + topic.getKey()));
      }
    }
    // The broker of the CLI backups over TLS (shared with other ITs of this JVM: only this run's secrets count).
    for (Map.Entry<String, List<byte[]>> topic : topicContents(TestKafka.bootstrapServers()).entrySet()) {
      for (byte[] b : topic.getValue()) {
        leaks(needles, b).forEach(s -> found.add(s + " in a record of topic " + topic.getKey() + " (CLI broker)"));
      }
    }
    assertThat(recordsPerTopic).as("records read per topic").containsKeys(Topics.TASKS, Topics.EVENTS,
        Topics.WORKERS, Topics.COORDINATORS, Topics.DEAD_LETTER, "__consumer_offsets");
    assertThat(recordsPerTopic.get(Topics.TASKS)).isPositive();
    assertThat(recordsPerTopic.get(Topics.EVENTS)).isPositive();

    List<Path> logs;
    try (Stream<Path> s = Files.list(Path.of("target", "it-logs", "SecurityIT"))) {
      logs = s.toList();
    }
    assertThat(logs.stream().map(p -> p.getFileName().toString())).contains("fleet.log", "restore-app.log",
        "restore-traversal.log", "verify.log", "backup-wrong-password.log");
    for (Path log : logs) {
      byte[] b = Files.readAllBytes(log);
      leaks(needles, b).forEach(s -> found.add(s + " in " + log));
      // A JSON line escapes characters ('/' as "\/"): search its decoded strings too.
      for (String line : new String(b, StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).toList()) {
        StringBuilder text = new StringBuilder();
        strings(Json.MAPPER.readTree(line), text);
        leaks(needles, text.toString().getBytes(StandardCharsets.UTF_8))
            .forEach(s -> found.add(s + " in a JSON line of " + log));
      }
    }
    // The error paths logged: the wrong password's refusal is in the fleet's log and in the CLI's.
    assertThat(fleet.log("fleet")).contains("password authentication failed").contains("\"level\":\"WARN\"");
    assertThat(fleet.log("backup-wrong-password")).contains("password authentication failed");
    for (String out : inProcessOutput) {
      leaks(needles, out.getBytes(StandardCharsets.UTF_8)).forEach(s -> found.add(s + " in the output of a CLI run"));
    }
    assertThat(webhookBodies).as("alerts the webhook received").isNotEmpty();
    for (String body : webhookBodies) {
      leaks(needles, body.getBytes(StandardCharsets.UTF_8)).forEach(s -> found.add(s + " in a webhook body"));
    }
    HttpResponse<String> metrics = send("GET", "/metrics", TOKEN);
    assertThat(metrics.statusCode()).isEqualTo(200);
    leaks(needles, metrics.body().getBytes(StandardCharsets.UTF_8)).forEach(s -> found.add(s + " in /metrics"));
    for (String f : files(repo.getParent())) {
      leaks(needles, Files.readAllBytes(repo.getParent().resolve(f))).forEach(s -> found.add(s + " in " + f));
    }
    assertThat(found).as("secrets found").isEmpty();
  }

  // ------------------------------------------------------------------------------------------------------------

  /**
   * Every object key is {@code <cluster>/<database segment>/<backup id>/<generated name>}: the database segment is
   * {@link RepositoryLayout#segment} of the name (percent-encoded, never '.', '/' or '\'), and no part of a key
   * comes from a table or schema name.
   */
  private static void assertObjectKeysAreSafe() throws Exception {
    Pattern generated = Pattern.compile("(manifest\\.json|RESTORE\\.md|schema(\\.[0-9a-f]{8})?\\.dump"
        + "|globals(\\.[0-9a-f]{8})?\\.sql|data/\\d{5}(-\\d{4})?(\\.[0-9a-f]{8})?\\.copy\\.zst"
        + "|verify/\\d{8}T\\d{9}Z\\.json)");
    Set<String> keys = files(repo);
    assertThat(keys).isNotEmpty();
    Set<String> databaseSegments = new TreeSet<>();
    for (String key : keys) {
      String[] parts = key.split("/", 4);
      assertThat(parts).as(key).hasSize(4);
      assertThat(parts[0]).as(key).matches("[A-Za-z0-9_-]{1,64}");
      assertThat(parts[1]).as(key).matches("[A-Za-z0-9_%-]+");
      assertThat(parts[2]).as(key).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
      assertThat(parts[3]).as(key).matches(generated);
      assertThat(key).as(key).doesNotContain("..").doesNotContain("\\");
      for (List<String> t : TRAVERSAL_TABLES) {
        for (String name : t) {
          if (!name.equals("public") && !name.equals("..")) {
            assertThat(key).as("a key holding identifier '%s'", name).doesNotContain(name);
          }
        }
      }
      databaseSegments.add(parts[1]);
    }
    assertThat(databaseSegments).containsExactlyInAnyOrder(RepositoryLayout.segment(APP_DB),
        RepositoryLayout.segment(TRAVERSAL_DB));
    assertThat(RepositoryLayout.segment(TRAVERSAL_DB)).isEqualTo("%2E%2E%2Fx");
  }

  /** Not one row value in any object, as stored or decompressed: the manifest and RESTORE.md included. */
  private static void assertNoRowInPlaintext() throws Exception {
    byte[] mark = ROW_MARK.getBytes(StandardCharsets.UTF_8);
    List<String> found = new ArrayList<>();
    for (String f : files(repo)) {
      byte[] raw = Files.readAllBytes(repo.resolve(f));
      if (contains(raw, mark)) {
        found.add(f);
      }
      if (f.endsWith(".zst")) {
        try (ZstdInputStream z = new ZstdInputStream(new ByteArrayInputStream(raw))) {
          if (contains(z.readAllBytes(), mark)) {
            found.add(f + " (decompressed)");
          }
        } catch (Exception notAFrame) {
          // encrypted: not a zstd frame, as it should be
        }
      }
    }
    assertThat(found).as("objects holding a row in plaintext").isEmpty();
    // The control: the restored databases hold the rows, so the mark is what a leak would look like.
    try (Connection c = verified.connect(APP_DB + "_restored"); Statement st = c.createStatement();
         var rs = st.executeQuery("SELECT count(*) FROM public.customers WHERE note LIKE '%" + ROW_MARK + "%'")) {
      rs.next();
      assertThat(rs.getInt(1)).isPositive();
    }
  }

  private static void assertNothingWrittenOutsideTheRepository() throws Exception {
    Set<String> now = files(dir);
    now.removeIf(f -> f.startsWith("a/b/c/repo/"));
    assertThat(now).as("files under the test directory outside the repository").isEqualTo(filesBefore);
    assertThat(Files.getLastModifiedTime(Path.of("/etc/passwd"))).isEqualTo(etcPasswdBefore);
  }

  // ------------------------------------------------------------------------------------------------------------

  /** Each secret under a name, in every form it could leak in. */
  private static Map<String, List<byte[]>> needles() {
    Map<String, List<byte[]>> n = new LinkedHashMap<>();
    n.put("database password", forms(PASSWORD));
    n.put("wrong database password", forms(WRONG_PASSWORD));
    n.put("API token", forms(TOKEN));
    n.put("Kafka secret property", forms(KAFKA_SECRET));
    n.put("webhook URL secret", forms(WEBHOOK_SECRET));
    List<byte[]> key = new ArrayList<>(forms(keyText));
    key.add(HexFormat.of().formatHex(keyBytes).getBytes(StandardCharsets.UTF_8));
    key.add(HexFormat.of().withUpperCase().formatHex(keyBytes).getBytes(StandardCharsets.UTF_8));
    key.addAll(base64Forms(keyBytes));
    n.put("encryption key", key);
    return n;
  }

  /** Raw, URL-encoded (both styles), JSON-escaped and base64 at each of the three alignments. */
  private static List<byte[]> forms(String secret) {
    Set<String> texts = new TreeSet<>(List.of(secret, urlPassword(secret),
        URLEncoder.encode(secret, StandardCharsets.UTF_8), secret.replace("/", "\\/")));
    List<byte[]> out = new ArrayList<>();
    texts.forEach(t -> out.add(t.getBytes(StandardCharsets.UTF_8)));
    out.addAll(base64Forms(secret.getBytes(StandardCharsets.UTF_8)));
    return out;
  }

  /**
   * Base64 of the bytes as they would appear inside a longer base64 text, at each offset modulo 3: the characters
   * that depend on the bytes alone (standard and URL-safe alphabets).
   */
  private static List<byte[]> base64Forms(byte[] secret) {
    List<byte[]> out = new ArrayList<>();
    for (int shift = 0; shift < 3; shift++) {
      byte[] padded = new byte[shift + secret.length];
      System.arraycopy(secret, 0, padded, shift, secret.length);
      String enc = Base64.getEncoder().withoutPadding().encodeToString(padded);
      int from = shift == 0 ? 0 : 4;
      int to = ((shift + secret.length) / 3) * 4;
      String stable = enc.substring(from, to);
      out.add(stable.getBytes(StandardCharsets.UTF_8));
      out.add(stable.replace('+', '-').replace('/', '_').getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }

  private static void strings(JsonNode n, StringBuilder out) {
    if (n.isTextual()) {
      out.append(n.asText()).append('\n');
    } else {
      n.forEach(c -> strings(c, out));
      n.fieldNames().forEachRemaining(f -> out.append(f).append('\n'));
    }
  }

  private static List<String> leaks(Map<String, List<byte[]>> needles, byte[] haystack) {
    List<String> found = new ArrayList<>();
    needles.forEach((name, forms) -> {
      if (forms.stream().anyMatch(f -> contains(haystack, f))) {
        found.add(name);
      }
    });
    return found;
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    return new String(haystack, StandardCharsets.ISO_8859_1).contains(new String(needle,
        StandardCharsets.ISO_8859_1));
  }

  /**
   * Every record of every topic the broker lists (internal topics included), as byte arrays: key, value, and each
   * header's key and value.
   */
  private static Map<String, List<byte[]>> topicContents(String bootstrapServers) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers);
    Set<String> topics;
    try (Admin admin = Admin.create(p)) {
      topics = new TreeSet<>(admin.listTopics(new ListTopicsOptions().listInternal(true)).names()
          .get(30, TimeUnit.SECONDS));
    }
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    Map<String, List<byte[]>> out = new LinkedHashMap<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      for (String topic : topics) {
        List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
            .map(i -> new TopicPartition(topic, i.partition())).toList();
        c.assign(parts);
        c.seekToBeginning(parts);
        Map<TopicPartition, Long> end = c.endOffsets(parts);
        List<byte[]> bytes = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 30_000;
        while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
          assertThat(System.currentTimeMillis()).as("reading topic " + topic).isLessThan(deadline);
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            bytes.add(r.key() == null ? new byte[0] : r.key());
            bytes.add(r.value() == null ? new byte[0] : r.value());
            for (Header h : r.headers()) {
              bytes.add(h.key().getBytes(StandardCharsets.UTF_8));
              bytes.add(h.value() == null ? new byte[0] : h.value());
            }
          }
        }
        out.put(topic, bytes);
      }
    }
    return out;
  }

  /**
   * Samples the command lines of the PostgreSQL client tools running on this machine (/proc/PID/cmdline) every few
   * milliseconds, noting which tools it saw and any command line holding the password in one of its forms.
   */
  private static final class ToolWatcher implements AutoCloseable {
    private static final Set<String> TOOLS = Set.of("pg_dump", "pg_dumpall", "pg_restore", "psql");
    final Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final List<String> leaks = new CopyOnWriteArrayList<>();
    private final List<byte[]> forms = forms(PASSWORD);
    private final Thread thread = new Thread(this::run, "it-tool-watcher");
    private volatile boolean stop;

    ToolWatcher() {
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      while (!stop) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
          for (Path proc : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
              .toList()) {
            byte[] cmdline;
            try {
              cmdline = Files.readAllBytes(proc.resolve("cmdline"));
            } catch (java.io.IOException gone) {
              continue;
            }
            int end = 0;
            while (end < cmdline.length && cmdline[end] != 0) {
              end++;
            }
            String argv0 = new String(cmdline, 0, end, StandardCharsets.UTF_8);
            String tool = argv0.substring(argv0.lastIndexOf('/') + 1);
            if (TOOLS.contains(tool)) {
              seen.add(tool);
              if (forms.stream().anyMatch(f -> contains(cmdline, f))) {
                leaks.add(tool + " (pid " + proc.getFileName() + ")");
              }
            }
          }
          Thread.sleep(15);
        } catch (java.io.IOException e) {
          // /proc changes under the listing; try again
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(5000);
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  /** A CA and a server certificate it signed for localhost and 127.0.0.1, and a second CA that signed nothing. */
  private static void makeCertificates(Path tls) throws Exception {
    Files.createDirectories(tls);
    openssl(tls, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=pgfleet SecurityIT CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl(tls, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=pgfleet SecurityIT other CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl(tls, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    Files.writeString(tls.resolve("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        + "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        + "extendedKeyUsage=serverAuth\n");
    openssl(tls, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "server.ext");
    ca = tls.resolve("ca.pem");
    otherCa = tls.resolve("other-ca.pem");
  }

  private static void openssl(Path cwd, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as(String.join(" ", cmd) + "\n" + out)
        .isTrue();
  }

  private static String tlsQuery(String sslmode, Path rootCert) {
    return "sslmode=" + sslmode + "&sslrootcert=" + URLEncoder.encode(rootCert.toString(), StandardCharsets.UTF_8);
  }

  private static void fill(String db, List<List<String>> tables) throws Exception {
    verified.createDatabase(db);
    try (Connection c = verified.connect(db); Statement st = c.createStatement()) {
      for (List<String> t : tables) {
        String schema = quote(t.get(0));
        String table = schema + "." + quote(t.get(1));
        st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
        st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, note text NOT NULL)");
        st.execute("INSERT INTO " + table + " SELECT g, '" + ROW_MARK + " ' || g FROM generate_series(1, 300) g");
      }
    }
  }

  private static String quote(String ident) {
    return '"' + ident.replace("\"", "\"\"") + '"';
  }

  private static String urlPassword(String s) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
        sb.append(c);
      } else {
        sb.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  private static String hex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Relative paths of the regular files under a directory ('/'-separated), empty when it does not exist. */
  private static Set<String> files(Path root) throws Exception {
    Set<String> out = new TreeSet<>();
    if (!Files.exists(root)) {
      return out;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(Files::isRegularFile).forEach(f -> out.add(root.relativize(f).toString().replace('\\', '/')));
    }
    return out;
  }

  /** A pgfleet command as a process of the distribution, its whole output captured; the output is in err. */
  private static Cli.Result cliProcess(String name, String... args) throws Exception {
    Process p = fleet.start(name, args);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(name + " finished").isTrue();
    return new Cli.Result(p.exitValue(), "", fleet.log(name));
  }

  private static Cli.Result cli(String... args) {
    Cli.Result r = Cli.run(args);
    inProcessOutput.add(r.out() + r.err());
    return r;
  }

  private static void assertOneLine(Cli.Result r, String endpoint, String expected) {
    assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
    assertThat(r.errorLines()).as(r.err()).hasSize(1);
    assertThat(r.errorLines().get(0)).contains(endpoint).contains(expected);
    assertThat(r.err()).doesNotContain("\tat ");
  }

  private static Optional<String> completed(List<CloudEvent> evs, String runId) {
    return evs.stream().filter(e -> runId.equals(e.runid()) && EventTypes.BACKUP_COMPLETED.equals(e.type()))
        .map(e -> e.data().get("backupId").asText()).findFirst();
  }

  /** Waits for the run to fail and returns the reason its backup.failed event gives. */
  private static String failureReason(String runId) {
    events.await("run " + runId + " to fail", Duration.ofSeconds(60), evs -> evs.stream()
        .anyMatch(e -> runId.equals(e.runid()) && EventTypes.BACKUP_FAILED.equals(e.type())));
    return events.matching(e -> runId.equals(e.runid()) && EventTypes.BACKUP_FAILED.equals(e.type())).get(0)
        .data().get("reason").asText();
  }

  private static String postBackup(String cluster, String db) throws Exception {
    HttpResponse<String> r = send("POST", "/api/v1/clusters/" + cluster + "/databases/"
        + URLEncoder.encode(db, StandardCharsets.UTF_8).replace("+", "%20") + "/backups", TOKEN);
    assertThat(r.statusCode()).as("backup of %s/%s: %s", cluster, db, r.body()).isEqualTo(202);
    return Json.MAPPER.readTree(r.body()).get("runId").asText();
  }

  private static void awaitLeader() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      HttpResponse<String> r = send("GET", "/ready", null);
      if (r.statusCode() == 200 && Json.MAPPER.readTree(r.body()).get("role").asText().equals("leader")) {
        Thread.sleep(2500); // the workers' heartbeats reach the leader
        return;
      }
      assertThat(System.nanoTime()).as("the coordinator leads: " + r.body()).isLessThan(deadline);
      Thread.sleep(250);
    }
  }

  private static HttpResponse<String> send(String method, String path, String token) throws Exception {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
        .timeout(Duration.ofSeconds(30));
    if (token != null) {
      req.header("Authorization", "Bearer " + token);
    }
    boolean body = method.equals("POST") && path.endsWith("/restore");
    req.method(method, body ? HttpRequest.BodyPublishers.ofString("{\"targetCluster\": \"main\", "
        + "\"targetDatabase\": \"never_created\"}") : HttpRequest.BodyPublishers.noBody());
    if (body) {
      req.header("Content-Type", "application/json");
    }
    return HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
  }
}
