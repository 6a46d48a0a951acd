package io.pgfleet.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.pgfleet.common.config.ConfigException;
import io.pgfleet.common.config.FleetConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads the deploy files (deploy/ and docker-compose.yml) the way their consumers would and reports where they
 * disagree with the code: files that do not parse, metric names the code does not export, ports other than the
 * code's defaults, pgfleet images other than the Dockerfile's, fleet configurations the loader refuses. Nothing
 * here runs Docker, Kubernetes or Prometheus; it catches the drift a rename in the code causes.
 *
 * <p>Each problem is one line starting with the file's path relative to the repository root.
 */
final class DeployChecker {
  /** What the files must agree with, taken from the code by the caller. */
  record Expectations(Map<String, String> metricTypes, int coordinatorPort, int workerMetricsPort) {}

  /** The outcome of a check: the problems, and what was looked at (so an empty tree cannot pass unnoticed). */
  record Report(List<String> problems, Set<String> files, Set<String> metricsUsed, int fleetConfigs) {}

  static final Path DOCKERFILE = Path.of("deploy", "docker", "Dockerfile");
  static final String TASK_TOPIC = "pgfleet.tasks";
  static final String WORKER_GROUP = "pgfleet-workers";

  // Not after a letter, digit, _ or : so a longer identifier that merely contains pgfleet_ is not taken for one.
  private static final Pattern METRIC = Pattern.compile("(?<![A-Za-z0-9_:])pgfleet_[a-z0-9_]+");
  private static final List<String> HISTOGRAM_SUFFIXES = List.of("_bucket", "_count", "_sum");
  private static final Pattern IMAGE_LABEL = Pattern.compile("io\\.pgfleet\\.image\\.name=\"([^\"]+)\"");
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Expectations expected;
  private final List<String> problems = new ArrayList<>();
  private final Set<String> files = new TreeSet<>();
  private final Set<String> metricsUsed = new TreeSet<>();
  private final Map<String, Map<String, Integer>> namedPorts = new LinkedHashMap<>();
  private final List<Runnable> deferred = new ArrayList<>();
  private Path root;
  private String imageName;
  private int fleetConfigs;

  DeployChecker(Expectations expected) {
    this.expected = expected;
  }

  /** Checks every *.yaml, *.yml and *.json under root/deploy, and root/docker-compose.yml. */
  Report checkTree(Path root) {
    this.root = root;
    Path dockerfile = root.resolve(DOCKERFILE);
    if (!Files.isRegularFile(dockerfile)) {
      problems.add(DOCKERFILE + ": missing; compose and Kubernetes build or run this image");
    } else {
      Matcher m = IMAGE_LABEL.matcher(read(dockerfile));
      if (m.find()) {
        imageName = m.group(1);
      } else {
        problems.add(DOCKERFILE + ": no LABEL io.pgfleet.image.name=\"...\": the image name compose and Kubernetes"
            + " must use");
      }
    }
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root.resolve("deploy"))) {
      walk.filter(Files::isRegularFile).filter(p -> {
        String n = p.getFileName().toString();
        return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
      }).sorted().forEach(paths::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    paths.add(root.resolve("docker-compose.yml"));
    for (Path p : paths) {
      String name = root.relativize(p).toString().replace('\\', '/');
      if (!Files.isRegularFile(p)) {
        problems.add(name + ": missing");
        continue;
      }
      checkFile(name, read(p));
    }
    return report();
  }

  /** Checks one file's text; its name (relative to the repository root) decides how it is read. */
  DeployChecker checkFile(String name, String text) {
    files.add(name);
    if (name.endsWith(".json")) {
      JsonNode doc;
      try {
        doc = JSON.readTree(text);
      } catch (JsonProcessingException e) {
        problems.add(name + ": invalid JSON: " + firstLine(e));
        return this;
      }
      if (doc != null && doc.has("panels")) {
        checkDashboard(name, doc);
      }
      return this;
    }
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (it.hasNextValue()) {
        docs.add(it.nextValue());
      }
    } catch (IOException | RuntimeException e) {
      problems.add(name + ": invalid YAML: " + firstLine(e));
      return this;
    }
    String fileName = name.substring(name.lastIndexOf('/') + 1);
    if (fileName.equals("fleet.yaml")) {
      checkFleetConfig(name, text);
      return this;
    }
    for (JsonNode doc : docs) {
      if (doc == null || !doc.isObject()) {
        continue;
      }
      if (doc.has("groups")) {
        checkRules(name, doc);
      } else if (doc.has("scrape_configs")) {
        checkScrapeConfig(name, doc);
      } else if (doc.has("services")) {
        checkCompose(name, doc);
      } else if (doc.has("apiVersion") && doc.has("kind")) {
        checkKubernetes(name, doc);
      }
    }
    return this;
  }

  Report report() {
    deferred.forEach(Runnable::run);
    deferred.clear();
    return new Report(List.copyOf(problems), Set.copyOf(files), Set.copyOf(metricsUsed), fleetConfigs);
  }

  // --- metrics -------------------------------------------------------------------------------------------------

  private void checkRules(String file, JsonNode doc) {
    for (JsonNode group : doc.path("groups")) {
      String groupName = group.path("name").asText("?");
      for (JsonNode rule : group.path("rules")) {
        String id = rule.has("alert") ? rule.path("alert").asText() : rule.path("record").asText("");
        String where = "group " + groupName + ", rule " + (id.isEmpty() ? "?" : id);
        if (id.isEmpty()) {
          problems.add(file + ": " + where + ": neither alert nor record is set");
        }
        if (!rule.path("expr").isTextual() || rule.path("expr").asText().isBlank()) {
          problems.add(file + ": " + where + ": no expr");
          continue;
        }
        checkExpression(file, where, rule.path("expr").asText());
      }
    }
  }

  private void checkDashboard(String file, JsonNode doc) {
    walk(doc, "", (path, field, value) -> {
      // Panel and target queries (expr), and template variables' queries (query, definition).
      if (value.isTextual() && (field.equals("expr") || field.equals("query") || field.equals("definition"))) {
        checkExpression(file, path, value.asText());
      }
    });
  }

  private void checkExpression(String file, String where, String expr) {
    Matcher m = METRIC.matcher(expr);
    while (m.find()) {
      String name = m.group();
      metricsUsed.add(name);
      if (expected.metricTypes().containsKey(name)) {
        continue;
      }
      boolean histogramSeries = HISTOGRAM_SUFFIXES.stream().anyMatch(s -> name.endsWith(s)
          && "histogram".equals(expected.metricTypes().get(name.substring(0, name.length() - s.length()))));
      if (!histogramSeries) {
        problems.add(file + ": " + where + ": metric " + name + " is not exported by pgfleet (not in MetricNames.ALL;"
            + " see common/src/main/java/io/pgfleet/common/metrics/MetricNames.java)");
      }
    }
  }

  // --- configuration -------------------------------------------------------------------------------------------

  private void checkFleetConfig(String where, String yaml) {
    fleetConfigs++;
    try {
      FleetConfigLoader.parse(yaml, Path.of("."));
    } catch (ConfigException e) {
      for (String p : e.problems()) {
        problems.add(where + ": FleetConfigLoader refuses it: " + p);
      }
    }
  }

  // --- Prometheus ----------------------------------------------------------------------------------------------

  private void checkScrapeConfig(String file, JsonNode doc) {
    for (JsonNode job : doc.path("scrape_configs")) {
      String name = job.path("job_name").asText("");
      Integer port = portOfRole(name);
      if (port == null) {
        continue;
      }
      for (JsonNode sc : job.path("static_configs")) {
        for (JsonNode target : sc.path("targets")) {
          String t = target.asText();
          String p = t.substring(t.lastIndexOf(':') + 1);
          if (!p.equals(String.valueOf(port))) {
            problems.add(file + ": job " + name + ": target " + t + " is not on port " + port + roleNote(name));
          }
        }
      }
      for (JsonNode dns : job.path("dns_sd_configs")) {
        if (dns.path("port").asInt(-1) != port) {
          problems.add(file + ": job " + name + ": dns_sd_configs port " + dns.path("port").asText("(none)")
              + " is not " + port + roleNote(name));
        }
      }
    }
  }

  // --- docker compose ------------------------------------------------------------------------------------------

  private void checkCompose(String file, JsonNode doc) {
    Iterator<Map.Entry<String, JsonNode>> services = doc.path("services").fields();
    while (services.hasNext()) {
      Map.Entry<String, JsonNode> e = services.next();
      String service = e.getKey();
      JsonNode s = e.getValue();
      String where = file + ": service " + service;
      String image = s.path("image").asText("");
      JsonNode build = s.path("build");
      if (!build.isMissingNode()) {
        String dockerfile = build.path("dockerfile").asText("Dockerfile");
        if (!Path.of(dockerfile).normalize().equals(DOCKERFILE)) {
          problems.add(where + ": builds " + dockerfile + ", not " + DOCKERFILE);
        }
        if (image.isEmpty()) {
          problems.add(where + ": builds the pgfleet image without naming it (image: " + imageNameOr() + ":TAG)");
        }
      }
      if (!build.isMissingNode() || image.contains("pgfleet")) {
        checkImage(where, image);
      }
      String command = String.join(" ", texts(s.path("command")));
      Integer port = roleOfCommand(command);
      if (port != null) {
        for (JsonNode mapping : s.path("ports")) {
          String m = mapping.isObject() ? mapping.path("target").asText() : mapping.asText();
          String container = m.substring(m.lastIndexOf(':') + 1).replace("/tcp", "");
          if (!container.equals(String.valueOf(port))) {
            problems.add(where + ": publishes container port " + container + ", but the " + command.split(" ")[0]
                + " listens on " + port + roleNote(command));
          }
        }
      }
      for (JsonNode volume : s.path("volumes")) {
        String v = volume.isObject() ? volume.path("source").asText() : volume.asText();
        String source = v.split(":")[0];
        if (root != null && source.startsWith("./") && !Files.exists(root.resolve(source.substring(2)))) {
          problems.add(where + ": mounts " + source + ", which does not exist");
        }
      }
    }
  }

  // --- Kubernetes ----------------------------------------------------------------------------------------------

  private void checkKubernetes(String file, JsonNode doc) {
    String kind = doc.path("kind").asText();
    String name = doc.path("metadata").path("name").asText("?");
    String where = file + ": " + kind + " " + name;
    switch (kind) {
      case "Deployment", "StatefulSet", "DaemonSet", "Job" -> checkWorkload(where, doc.path("spec").path("template"));
      case "Service" -> checkService(where, name, doc);
      case "ConfigMap" -> {
        Iterator<Map.Entry<String, JsonNode>> data = doc.path("data").fields();
        while (data.hasNext()) {
          Map.Entry<String, JsonNode> e = data.next();
          if (e.getKey().endsWith("fleet.yaml")) {
            checkFleetConfig(where + " data." + e.getKey(), e.getValue().asText());
          }
        }
      }
      case "ScaledObject" -> {
        for (JsonNode trigger : doc.path("spec").path("triggers")) {
          if (trigger.path("type").asText().equals("kafka")) {
            JsonNode md = trigger.path("metadata");
            if (!md.path("topic").asText().equals(TASK_TOPIC)) {
              problems.add(where + ": kafka trigger topic " + md.path("topic").asText("(none)") + " is not "
                  + TASK_TOPIC);
            }
            if (!md.path("consumerGroup").asText().equals(WORKER_GROUP)) {
              problems.add(where + ": kafka trigger consumerGroup " + md.path("consumerGroup").asText("(none)")
                  + " is not " + WORKER_GROUP);
            }
          }
        }
      }
      default -> { }
    }
  }

  private void checkWorkload(String where, JsonNode template) {
    JsonNode spec = template.path("spec");
    for (JsonNode c : spec.path("initContainers")) {
      checkImage(where + " initContainer " + c.path("name").asText("?"), c.path("image").asText(""));
    }
    for (JsonNode c : spec.path("containers")) {
      String cw = where + " container " + c.path("name").asText("?");
      String image = c.path("image").asText("");
      if (image.contains("pgfleet")) {
        checkImage(cw, image);
      }
      String command = String.join(" ", texts(c.path("args")));
      Integer port = roleOfCommand(command);
      if (port == null) {
        continue;
      }
      String role = roleName(command);
      Map<String, Integer> ports = new LinkedHashMap<>();
      for (JsonNode p : c.path("ports")) {
        ports.put(p.path("name").asText(""), p.path("containerPort").asInt());
      }
      namedPorts.computeIfAbsent(role, r -> new LinkedHashMap<>()).putAll(ports);
      if (!ports.containsValue(port)) {
        problems.add(cw + ": declares container ports " + ports.values() + ", not " + port + roleNote(command));
      }
      for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
        JsonNode pr = c.path(probe);
        JsonNode p = pr.has("httpGet") ? pr.path("httpGet").path("port") : pr.path("tcpSocket").path("port");
        if (!p.isMissingNode() && !port.equals(resolve(p, ports))) {
          problems.add(cw + ": " + probe + " port " + p.asText() + " is not " + port + roleNote(command));
        }
      }
      JsonNode annotated = template.path("metadata").path("annotations").path("prometheus.io/port");
      if (!annotated.isMissingNode() && !annotated.asText().equals(String.valueOf(port))) {
        problems.add(where + ": annotation prometheus.io/port " + annotated.asText() + " is not " + port
            + roleNote(command));
      }
    }
  }

  private void checkService(String where, String name, JsonNode doc) {
    String role = doc.path("spec").path("selector").path("app.kubernetes.io/component").asText(name);
    Integer port = portOfRole(role);
    if (port == null) {
      return;
    }
    for (JsonNode p : doc.path("spec").path("ports")) {
      if (p.path("port").asInt() != port) {
        problems.add(where + ": port " + p.path("port").asText() + " is not " + port + roleNote(role));
      }
      JsonNode target = p.path("targetPort");
      if (target.isMissingNode()) {
        continue;
      }
      deferred.add(() -> {
        Integer resolved = resolve(target, namedPorts.getOrDefault(roleName(role), Map.of()));
        if (!port.equals(resolved)) {
          problems.add(where + ": targetPort " + target.asText() + " is not the " + roleName(role) + "'s port "
              + port + roleNote(role));
        }
      });
    }
  }

  // --- shared --------------------------------------------------------------------------------------------------

  private void checkImage(String where, String image) {
    if (imageName == null) {
      return;
    }
    String repository = image.contains(":") ? image.substring(0, image.lastIndexOf(':')) : image;
    if (!repository.equals(imageName)) {
      problems.add(where + ": image " + (image.isEmpty() ? "(none)" : image) + " is not " + imageName
          + " (the Dockerfile's LABEL io.pgfleet.image.name)");
    }
  }

  private String imageNameOr() {
    return imageName == null ? "IMAGE" : imageName;
  }

  private static Integer resolve(JsonNode port, Map<String, Integer> named) {
    if (port.isInt() || port.asText().matches("\\d+")) {
      return port.asInt(Integer.parseInt(port.asText()));
    }
    return named.get(port.asText());
  }

  /** The port a process listens on, from its command line (coordinator, worker), or null for anything else. */
  private Integer roleOfCommand(String command) {
    String first = command.strip().split("\\s+")[0];
    return first.equals("coordinator") || first.equals("worker") ? portOfRole(first) : null;
  }

  private Integer portOfRole(String text) {
    String t = text.toLowerCase(Locale.ROOT);
    if (t.contains("coordinator")) {
      return expected.coordinatorPort();
    }
    if (t.contains("worker")) {
      return expected.workerMetricsPort();
    }
    return null;
  }

  private static String roleName(String text) {
    return text.toLowerCase(Locale.ROOT).contains("coordinator") ? "coordinator" : "worker";
  }

  private static String roleNote(String text) {
    return roleName(text).equals("coordinator")
        ? " (the coordinator's API and /metrics: coordinator.http.port, default from FleetConfigLoader)"
        : " (a worker's /metrics: worker.metricsPort, docs/configuration.md)";
  }

  private static List<String> texts(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n.isArray()) {
      n.forEach(x -> out.add(x.asText()));
    } else if (n.isTextual()) {
      out.add(n.asText());
    }
    return out;
  }

  private interface Visitor {
    void visit(String path, String field, JsonNode value);
  }

  private static void walk(JsonNode node, String path, Visitor v) {
    if (node.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> it = node.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        String p = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        v.visit(p, e.getKey(), e.getValue());
        walk(e.getValue(), p, v);
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        walk(node.get(i), path + "[" + i + "]", v);
      }
    }
  }

  private static String firstLine(Exception e) {
    String m = e instanceof JsonProcessingException j && j.getOriginalMessage() != null
        ? j.getOriginalMessage() + (j.getLocation() == null ? ""
            : " (line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")")
        : String.valueOf(e.getMessage());
    return m.lines().findFirst().orElse(m);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
