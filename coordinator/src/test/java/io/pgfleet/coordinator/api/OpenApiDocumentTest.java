package io.pgfleet.coordinator.api;

import static io.pgfleet.coordinator.api.RunningApi.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.client.HttpResponse;
import java.lang.reflect.RecordComponent;
import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The served OpenAPI document cannot drift from the code: its paths are exactly the router's, and every JSON reply
 * has exactly the properties (and nullability and types) of the schema the document names for it.
 */
class OpenApiDocumentTest {
  private static final Set<String> OPERATIONS = Set.of("get", "put", "post", "delete", "options", "head", "patch",
      "trace");
  /** A concrete value for each path parameter, known to the in-memory fleet. */
  private static final Map<String, String> SAMPLES = Map.of("cluster", "prod-eu", "database", "orders", "backupId",
      InMemoryFleet.BACKUP_ID, "runId", InMemoryFleet.RUNNING, "jobId", InMemoryFleet.JOB);

  private static RunningApi api;
  private static JsonNode document;

  @BeforeAll
  static void start() throws Exception {
    api = new RunningApi(() -> RunningApi.TOKEN);
    HttpResponse<Buffer> r = api.send(api.request(HttpMethod.GET, "/openapi.yaml"));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.getHeader("Content-Type")).isEqualTo("application/yaml");
    document = new ObjectMapper(new YAMLFactory()).readTree(r.body().getBytes());
  }

  @AfterAll
  static void stop() throws Exception {
    api.close();
  }

  @Test
  void documentIsOpenApi303WithBearerSecurity() {
    assertThat(document.get("openapi").asText()).isEqualTo("3.0.3");
    JsonNode scheme = document.at("/components/securitySchemes/bearerToken");
    assertThat(scheme.get("type").asText()).isEqualTo("http");
    assertThat(scheme.get("scheme").asText()).isEqualTo("bearer");
    assertThat(document.at("/security/0").has("bearerToken")).isTrue();
    for (String open : List.of("/health", "/ready", "/openapi.yaml")) {
      assertThat(document.get("paths").get(open).get("get").get("security")).as(open).isEmpty();
    }
  }

  @Test
  void documentedPathsAreExactlyTheRoutes() {
    Set<String> routed = new TreeSet<>();
    for (Route route : api.server.router().getRoutes()) {
      Set<HttpMethod> methods = route.methods();
      if (methods == null || methods.isEmpty()) {
        continue; // the bearer check, the failure handler and the dashboard's static files, which span every method
      }
      String path = route.getPath().replaceAll(":(\\w+)", "{$1}");
      methods.forEach(m -> routed.add(m.name().toLowerCase() + " " + path));
    }
    Set<String> documented = new TreeSet<>();
    document.get("paths").fields().forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(op -> {
      if (OPERATIONS.contains(op)) {
        documented.add(op + " " + path.getKey());
      }
    }));
    assertThat(routed).hasSize(13).isEqualTo(documented);
  }

  @Test
  void everyReplyMatchesItsDocumentedSchema() throws Exception {
    Set<String> schemasSeen = new TreeSet<>();
    Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields();
    while (paths.hasNext()) {
      Map.Entry<String, JsonNode> path = paths.next();
      String uri = path.getKey();
      for (Map.Entry<String, String> sample : SAMPLES.entrySet()) {
        uri = uri.replace("{" + sample.getKey() + "}", sample.getValue());
      }
      Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields();
      while (ops.hasNext()) {
        Map.Entry<String, JsonNode> op = ops.next();
        if (!OPERATIONS.contains(op.getKey())) {
          continue;
        }
        HttpMethod method = HttpMethod.valueOf(op.getKey().toUpperCase());
        HttpResponse<Buffer> r = op.getValue().has("requestBody")
            ? api.authorized(method, uri, "{\"targetCluster\":\"staging\",\"targetDatabase\":\"orders_copy\"}")
            : api.authorized(method, uri);
        String where = op.getKey() + " " + uri;
        JsonNode response = op.getValue().get("responses").get(String.valueOf(r.statusCode()));
        assertThat(response).as("%s answered %d, which the document does not list", where, r.statusCode())
            .isNotNull();
        assertThat(r.statusCode()).as(where).isBetween(200, 299);
        JsonNode content = response.get("content");
        String type = content.fieldNames().next();
        assertThat(r.getHeader("Content-Type")).as(where).isEqualTo(type);
        if (type.equals("application/json")) {
          conforms(json(r), content.get(type).get("schema"), where, schemasSeen);
        }
      }
    }
    // Each view, and each nested view, was checked against a non-null value at least once.
    Set<String> records = Arrays.stream(FleetApi.class.getDeclaredClasses()).filter(Class::isRecord)
        .map(Class::getSimpleName).filter(n -> !n.equals("RestoreRequest")).collect(Collectors.toSet());
    assertThat(schemasSeen).containsAll(records).contains("Health");
  }

  /**
   * Every documented operation that the document does not mark open ({@code security: []}) answers 401 without a
   * token, with a wrong one and with the right one under another scheme, before it looks at its parameters or body;
   * the open ones answer without a token. ApiServerTest checks the header forms on one path; this covers the
   * paths, so a route added later cannot come without the bearer check.
   */
  @Test
  void everyProtectedOperationAnswers401WithoutTheTokenAndTheOpenOnesAnswer() throws Exception {
    int protectedOps = 0;
    Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields();
    while (paths.hasNext()) {
      Map.Entry<String, JsonNode> path = paths.next();
      String uri = path.getKey();
      for (Map.Entry<String, String> sample : SAMPLES.entrySet()) {
        uri = uri.replace("{" + sample.getKey() + "}", sample.getValue());
      }
      Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields();
      while (ops.hasNext()) {
        Map.Entry<String, JsonNode> op = ops.next();
        if (!OPERATIONS.contains(op.getKey())) {
          continue;
        }
        HttpMethod method = HttpMethod.valueOf(op.getKey().toUpperCase());
        String where = op.getKey() + " " + uri;
        JsonNode security = op.getValue().get("security");
        if (security != null && security.isEmpty()) {
          assertThat(api.send(api.request(method, uri)).statusCode()).as("%s without a token", where)
              .isBetween(200, 299);
          continue;
        }
        assertThat(path.getKey()).as("a protected path").startsWith("/api/v1/");
        protectedOps++;
        for (String header : new String[] {null, "Bearer wrong-" + RunningApi.TOKEN, "Basic " + RunningApi.TOKEN}) {
          var request = api.request(method, uri);
          if (header != null) {
            request.putHeader("Authorization", header);
          }
          HttpResponse<Buffer> r = op.getValue().has("requestBody")
              ? api.send(request, "{\"targetCluster\":\"staging\",\"targetDatabase\":\"orders_copy\"}")
              : api.send(request);
          assertThat(r.statusCode()).as("%s with Authorization: %s", where, header).isEqualTo(401);
          assertThat(r.bodyAsString()).as(where).doesNotContain(RunningApi.TOKEN);
        }
      }
    }
    assertThat(protectedOps).as("protected operations in the document").isEqualTo(10);
  }

  @Test
  void errorRepliesMatchTheErrorSchema() throws Exception {
    Set<String> seen = new TreeSet<>();
    JsonNode error = document.at("/components/schemas/Error");
    conforms(json(api.authorized(HttpMethod.GET, "/api/v1/clusters/nope/databases")), error, "404", seen);
    conforms(json(api.send(api.request(HttpMethod.GET, "/api/v1/clusters"))), error, "401", seen);
    conforms(json(api.authorized(HttpMethod.GET, "/api/v1/runs?limit=0")), error, "400", seen);
  }

  /** Component schemas list exactly the record components, which are the names Jackson writes. */
  @Test
  void schemasListExactlyTheRecordComponents() {
    for (Class<?> type : FleetApi.class.getDeclaredClasses()) {
      if (!type.isRecord()) {
        continue;
      }
      JsonNode schema = document.at("/components/schemas/" + type.getSimpleName());
      assertThat(schema.isMissingNode()).as("schema %s", type.getSimpleName()).isFalse();
      Set<String> components = Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName)
          .collect(Collectors.toCollection(LinkedHashSet::new));
      assertThat(names(schema.get("properties"))).as(type.getSimpleName()).containsExactlyElementsOf(components);
      if (type != FleetApi.RestoreRequest.class) {
        // Replies write nulls out, so every property of a view is always present.
        assertThat(names(schema.get("required"))).as(type.getSimpleName()).containsExactlyElementsOf(components);
      }
    }
  }

  private static void conforms(JsonNode value, JsonNode schema, String where, Set<String> seen) {
    JsonNode s = schema;
    if (s.has("$ref")) {
      String ref = s.get("$ref").asText();
      assertThat(ref).startsWith("#/components/schemas/");
      seen.add(ref.substring(ref.lastIndexOf('/') + 1));
      s = document.at(ref.substring(1));
      assertThat(s.isMissingNode()).as("%s: %s", where, ref).isFalse();
    }
    if (value.isNull()) {
      assertThat(s.path("nullable").asBoolean()).as("%s is null but not nullable", where).isTrue();
      return;
    }
    if (s.has("allOf")) {
      for (JsonNode part : s.get("allOf")) {
        conforms(value, part, where, seen);
      }
      return;
    }
    String type = s.get("type").asText();
    switch (type) {
      case "object" -> {
        assertThat(value.isObject()).as(where).isTrue();
        assertThat(names(value)).as("properties of %s", where).isEqualTo(names(s.get("properties")));
        JsonNode properties = s.get("properties");
        value.fields().forEachRemaining(f ->
            conforms(f.getValue(), properties.get(f.getKey()), where + "." + f.getKey(), seen));
      }
      case "array" -> {
        assertThat(value.isArray()).as(where).isTrue();
        for (int i = 0; i < value.size(); i++) {
          conforms(value.get(i), s.get("items"), where + "[" + i + "]", seen);
        }
      }
      case "string" -> {
        assertThat(value.isTextual()).as(where).isTrue();
        if ("date-time".equals(s.path("format").asText())) {
          Instant.parse(value.asText());
        }
      }
      case "integer" -> assertThat(value.isIntegralNumber()).as(where).isTrue();
      case "number" -> assertThat(value.isNumber()).as(where).isTrue();
      case "boolean" -> assertThat(value.isBoolean()).as(where).isTrue();
      default -> throw new AssertionError(where + ": unexpected schema type " + type);
    }
  }

  private static Set<String> names(JsonNode node) {
    Set<String> names = new LinkedHashSet<>();
    if (node.isArray()) {
      node.forEach(n -> names.add(n.asText()));
    } else {
      node.fieldNames().forEachRemaining(names::add);
    }
    return names;
  }
}
