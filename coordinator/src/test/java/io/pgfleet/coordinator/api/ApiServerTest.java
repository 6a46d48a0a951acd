package io.pgfleet.coordinator.api;

import static io.pgfleet.coordinator.api.RunningApi.TOKEN;
import static io.pgfleet.coordinator.api.RunningApi.json;
import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.POST;
import static io.vertx.core.http.HttpMethod.PUT;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.coordinator.api.FleetApi.RestoreRequest;
import io.pgfleet.coordinator.api.FleetApi.Status;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The HTTP layer over an in-memory fleet: probes, bearer auth, status codes, validation and the error shape. */
class ApiServerTest {
  private static final String ORDERS = "/api/v1/clusters/prod-eu/databases/orders";
  private static final String RESTORE = ORDERS + "/backups/" + InMemoryFleet.BACKUP_ID + "/restore";
  private static final String VALID_RESTORE = "{\"targetCluster\":\"staging\",\"targetDatabase\":\"orders_copy\"}";

  private static RunningApi api;

  @BeforeAll
  static void start() throws Exception {
    api = new RunningApi(() -> TOKEN);
  }

  @AfterAll
  static void stop() throws Exception {
    api.close();
  }

  @Test
  void healthIsUpWithoutToken() throws Exception {
    HttpResponse<Buffer> r = api.send(api.request(GET, "/health"));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.getHeader("Content-Type")).startsWith("application/json");
    assertThat(json(r).toString()).isEqualTo("{\"status\":\"UP\"}");
  }

  @Test
  void dashboardIsServedWithoutTokenAndTheRootRedirectsToIt() throws Exception {
    HttpResponse<Buffer> root = api.send(api.request(GET, "/").followRedirects(false));
    assertThat(root.statusCode()).isEqualTo(302);
    assertThat(root.getHeader("Location")).isEqualTo("/dashboard/");

    HttpResponse<Buffer> page = api.send(api.request(GET, "/dashboard/"));
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.getHeader("Content-Type")).startsWith("text/html");
    assertThat(page.getHeader("Content-Security-Policy")).contains("default-src 'self'");
    assertThat(page.bodyAsString()).contains("<main").contains("app.js");

    HttpResponse<Buffer> script = api.send(api.request(GET, "/dashboard/app.js"));
    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.getHeader("Content-Type")).contains("javascript");
    assertThat(api.send(api.request(GET, "/dashboard/../api/openapi.yaml")).statusCode()).isNotEqualTo(200);
  }

  @Test
  void readyIs200WhenReadyAnd503WhenNot() throws Exception {
    HttpResponse<Buffer> ready = api.send(api.request(GET, "/ready"));
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(json(ready).get("ready").asBoolean()).isTrue();
    assertThat(json(ready).get("role").asText()).isEqualTo("leader");

    Status before = api.fleet.status;
    api.fleet.status = new Status(false, "follower", "not connected to Kafka yet");
    try {
      HttpResponse<Buffer> notReady = api.send(api.request(GET, "/ready"));
      assertThat(notReady.statusCode()).isEqualTo(503);
      assertThat(json(notReady).get("ready").asBoolean()).isFalse();
      assertThat(json(notReady).get("role").asText()).isEqualTo("follower");
      assertThat(json(notReady).get("detail").asText()).isEqualTo("not connected to Kafka yet");
    } finally {
      api.fleet.status = before;
    }
  }

  @Test
  void apiRejectsMissingAndWrongTokens() throws Exception {
    for (String header : new String[] {null, "Bearer wrong", "Bearer " + TOKEN + "x", "Bearer " + TOKEN.substring(1),
        "Basic " + TOKEN, "Bearer", TOKEN}) {
      var request = api.request(GET, "/api/v1/clusters");
      if (header != null) {
        request.putHeader("Authorization", header);
      }
      HttpResponse<Buffer> r = api.send(request);
      assertThat(r.statusCode()).as("Authorization: %s", header).isEqualTo(401);
      assertThat(r.getHeader("WWW-Authenticate")).startsWith("Bearer");
      assertThat(json(r).get("error").asText()).contains("bearer token");
    }
    // Unknown paths and wrong methods under /api/v1 do not reveal anything without a token either.
    assertThat(api.send(api.request(GET, "/api/v1/nothing")).statusCode()).isEqualTo(401);
    assertThat(api.send(api.request(DELETE, "/api/v1/clusters")).statusCode()).isEqualTo(401);
  }

  @Test
  void apiAnswersWithTheRightToken() throws Exception {
    HttpResponse<Buffer> r = api.authorized(GET, "/api/v1/clusters");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).findValuesAsText("name")).containsExactly("prod-eu", "staging");
    // The scheme is case-insensitive (RFC 9110).
    assertThat(api.send(api.request(GET, "/api/v1/clusters").putHeader("Authorization", "bearer " + TOKEN))
        .statusCode()).isEqualTo(200);
  }

  @Test
  void tokenIsNeverSentBack() throws Exception {
    api.send(api.request(GET, "/api/v1/clusters").putHeader("Authorization", "Bearer " + TOKEN + "x"));
    api.authorized(GET, "/api/v1/clusters");
    api.authorized(GET, "/api/v1/runs/" + InMemoryFleet.BOOM);
    api.authorized(GET, "/api/v1/nothing");
    api.authorized(POST, RESTORE, "{\"targetCluster\":");
    api.authorized(POST, RESTORE, "{\"targetCluster\":\"staging\",\"targetDatabase\":\"x\",\"jobs\":0}");
    assertThat(api.replies).isNotEmpty().noneMatch(reply -> reply.contains(TOKEN));
  }

  @Test
  void withoutTokenThereIsNoApi() throws Exception {
    try (RunningApi open = new RunningApi(() -> null)) {
      assertThat(open.send(open.request(GET, "/api/v1/clusters")).statusCode()).isEqualTo(404);
      assertThat(open.send(open.request(GET, "/health")).statusCode()).isEqualTo(200);
    }
    try (RunningApi open = new RunningApi(null)) {
      assertThat(open.authorized(GET, "/api/v1/clusters").statusCode()).isEqualTo(404);
      assertThat(open.send(open.request(GET, "/ready")).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void unknownClusterIs404() throws Exception {
    HttpResponse<Buffer> r = api.authorized(GET, "/api/v1/clusters/nope/databases");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(json(r).get("error").asText()).isEqualTo("no cluster named \"nope\" is configured");
    assertThat(api.authorized(GET, "/api/v1/runs/run-9999").statusCode()).isEqualTo(404);
    assertThat(api.authorized(GET, "/api/v1/restores/none").statusCode()).isEqualTo(404);
  }

  @Test
  void unknownPathIs404AndWrongMethodIs405() throws Exception {
    for (String uri : List.of("/nothing", "/api/v1/nothing", "/api/v1/clusters/prod-eu")) {
      HttpResponse<Buffer> r = api.authorized(GET, uri);
      assertThat(r.statusCode()).as(uri).isEqualTo(404);
      assertThat(json(r).get("error").asText()).contains("no such resource");
    }
    for (var call : List.of(List.of(DELETE, "/api/v1/clusters"), List.of(PUT, "/health"),
        List.of(POST, "/api/v1/runs"), List.of(GET, RESTORE))) {
      HttpResponse<Buffer> r = api.authorized((HttpMethod) call.get(0), (String) call.get(1));
      assertThat(r.statusCode()).as(call.toString()).isEqualTo(405);
      assertThat(json(r).get("error").asText()).contains("not allowed");
    }
  }

  @Test
  void rejectedBackupIs409() throws Exception {
    HttpResponse<Buffer> r = api.authorized(POST, "/api/v1/clusters/prod-eu/databases/busy/backups");
    assertThat(r.statusCode()).isEqualTo(409);
    assertThat(json(r).get("error").asText()).isEqualTo("a run of prod-eu/busy is already in flight");
  }

  @Test
  void unexpectedFailureIs500OnOneLine() throws Exception {
    HttpResponse<Buffer> r = api.authorized(GET, "/api/v1/runs/" + InMemoryFleet.BOOM);
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(json(r).get("error").asText())
        .isEqualTo("internal error: IllegalStateException: the run table is corrupt");
  }

  @Test
  void runLimitDefaultsTo50AndIsPassedOn() throws Exception {
    assertThat(api.authorized(GET, "/api/v1/runs").statusCode()).isEqualTo(200);
    assertThat(api.fleet.lastLimit.get()).isEqualTo(50);
    HttpResponse<Buffer> one = api.authorized(GET, "/api/v1/runs?limit=1");
    assertThat(one.statusCode()).isEqualTo(200);
    assertThat(api.fleet.lastLimit.get()).isEqualTo(1);
    assertThat(json(one).size()).isEqualTo(1);
    assertThat(api.authorized(GET, "/api/v1/runs?limit=1000").statusCode()).isEqualTo(200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "1001", "-1", "abc", "", "2.5", "99999999999"})
  void badLimitIs400(String limit) throws Exception {
    HttpResponse<Buffer> r = api.authorized(GET, "/api/v1/runs?limit=" + limit);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r).get("error").asText()).startsWith("limit must be an integer from 1 to 1000");
  }

  @ParameterizedTest
  @ValueSource(strings = {"latest", "20250131T020000Z-1A2B3C", "20250131T020000Z-1a2b3", "2025-01-31-1a2b3c",
      "20250131T020000Z-1a2b3c%0A"})
  void badBackupIdIs400(String backupId) throws Exception {
    HttpResponse<Buffer> r = api.authorized(POST, ORDERS + "/backups/" + backupId + "/restore", VALID_RESTORE);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r).get("error").asText()).startsWith("invalid backup id");
  }

  @Test
  void badNamesAre400() throws Exception {
    HttpResponse<Buffer> control = api.authorized(GET, "/api/v1/clusters/prod%01eu/databases");
    assertThat(control.statusCode()).isEqualTo(400);
    assertThat(json(control).get("error").asText()).isEqualTo("cluster contains control characters");
    HttpResponse<Buffer> tooLong = api.authorized(GET, "/api/v1/clusters/prod-eu/databases/" + "d".repeat(129)
        + "/backups");
    assertThat(tooLong.statusCode()).isEqualTo(400);
    assertThat(json(tooLong).get("error").asText()).isEqualTo("database is longer than 128 characters");
    assertThat(api.authorized(GET, "/api/v1/clusters/prod-eu/databases/" + "d".repeat(128) + "/backups")
        .statusCode()).isEqualTo(200);
  }

  @Test
  void backupNowIs202WithLocation() throws Exception {
    HttpResponse<Buffer> r = api.authorized(POST, ORDERS + "/backups");
    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(r.getHeader("Location")).isEqualTo("/api/v1/runs/run-0003");
    assertThat(json(r).get("state").asText()).isEqualTo("QUEUED");
    assertThat(api.authorized(POST, "/api/v1/clusters/nope/databases/orders/backups").statusCode())
        .isEqualTo(404);
  }

  @Test
  void restoreIs202WithLocationAndDefaults() throws Exception {
    HttpResponse<Buffer> r = api.authorized(POST, RESTORE, VALID_RESTORE);
    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(r.getHeader("Location")).isEqualTo("/api/v1/restores/restore-0002");
    JsonNode job = json(r);
    assertThat(job.get("targetDatabase").asText()).isEqualTo("orders_copy");
    assertThat(job.get("endedAt").isNull()).isTrue();
    assertThat(api.fleet.lastRestore.get()).isEqualTo(new RestoreRequest("staging", "orders_copy", List.of(),
        List.of(), List.of(), false, false, false, 2, false));
  }

  @Test
  void restoreTakesEverySelectionField() throws Exception {
    HttpResponse<Buffer> r = api.authorized(POST, RESTORE, """
        {"targetCluster": "staging", "targetDatabase": "orders_copy", "schemas": ["app"], "tables": ["app.t"],
         "excludeTables": ["app.log"], "dataOnly": true, "clean": true, "jobs": 64, "noOwner": true}""");
    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(api.fleet.lastRestore.get()).isEqualTo(new RestoreRequest("staging", "orders_copy", List.of("app"),
        List.of("app.t"), List.of("app.log"), true, false, true, 64, true));
  }

  @Test
  void invalidRestoreBodiesAre400() throws Exception {
    assertBadRestore("{\"targetCluster\":", "invalid JSON in restore request");
    assertBadRestore("", "the restore request body is empty");
    assertBadRestore("[]", "the restore request body must be a JSON object");
    assertBadRestore("{\"targetCluster\":\"staging\",\"targetDatabase\":\"x\",\"shcemas\":[\"app\"]}",
        "unknown field \"shcemas\" in restore request; known fields: targetCluster, targetDatabase, schemas,");
    assertBadRestore("{\"targetDatabase\":\"x\"}", "targetCluster is required");
    assertBadRestore("{\"targetCluster\":\" \",\"targetDatabase\":\"x\"}", "targetCluster is required");
    assertBadRestore("{\"targetCluster\":\"staging\"}", "targetDatabase is required");
    assertBadRestore("{\"targetCluster\":\"staging\",\"targetDatabase\":\"x\",\"jobs\":0}",
        "jobs must be between 1 and 64, got 0");
    assertBadRestore("{\"targetCluster\":\"staging\",\"targetDatabase\":\"x\",\"jobs\":65}",
        "jobs must be between 1 and 64, got 65");
    assertBadRestore("{\"targetCluster\":\"staging\",\"targetDatabase\":\"x\",\"tables\":{}}",
        "invalid value for \"tables\"");
    assertBadRestore("{\"targetCluster\":\"staging\",\"targetDatabase\":\"x\",\"dataOnly\":true,\"schemaOnly\":true}",
        "dataOnly and schemaOnly exclude each other");
  }

  private static void assertBadRestore(String body, String error) throws Exception {
    HttpResponse<Buffer> r = api.authorized(POST, RESTORE, body);
    assertThat(r.statusCode()).as(body).isEqualTo(400);
    String message = json(r).get("error").asText();
    assertThat(message).as(body).startsWith(error).doesNotContain("\n");
  }
}
