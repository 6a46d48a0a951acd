package io.pgfleet.coordinator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.pgfleet.common.json.Json;
import io.pgfleet.coordinator.api.FleetApi.NotFound;
import io.pgfleet.coordinator.api.FleetApi.Rejected;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's HTTP API: liveness, readiness, the OpenAPI document, and under {@code /api/v1} the fleet's
 * clusters, databases, backups, runs, restores and alerts behind a bearer token. Every route is described in
 * {@code openapi.yaml} next to this class; {@code OpenApiDocumentTest} fails when the two drift apart. The fleet
 * dashboard (static files that call the API) is served at {@code /dashboard/}.
 */
public final class ApiServer {
  static final String OPENAPI_RESOURCE = "/io/pgfleet/coordinator/api/openapi.yaml";
  /** The dashboard's static files, a classpath directory served as they are (no build step). */
  static final String DASHBOARD_ROOT = "io/pgfleet/coordinator/dashboard";
  /**
   * Everything the page loads comes from this server; its only requests are to /api/v1 (same origin). Inline SVG
   * built through the DOM needs no extra source.
   */
  private static final String DASHBOARD_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
      + "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
  static final int MAX_NAME = 128;
  static final int DEFAULT_RUN_LIMIT = 50;
  static final int MAX_RUN_LIMIT = 1000;
  private static final int MAX_BODY_BYTES = 64 * 1024;
  private static final Pattern BACKUP_ID = Pattern.compile("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
  private static final String JSON = "application/json";
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  /**
   * The shared mapping (ISO-8601 instants), but nulls written out: the document marks those fields nullable, and a
   * client can tell "not yet" from "field unknown to this version".
   */
  private static final ObjectMapper MAPPER = Json.MAPPER.copy().setSerializationInclusion(JsonInclude.Include.ALWAYS);

  private final Vertx vertx;
  private final FleetApi fleet;
  private final Router router;
  private volatile Buffer openApi;
  private HttpServer server;

  /**
   * @param token the API's bearer token, asked for on every request; when null, or when it answers null or blank at
   *     construction, no {@code /api} route is mounted (health, readiness and the document remain)
   */
  public ApiServer(Vertx vertx, FleetApi fleet, Supplier<String> token) {
    this.vertx = vertx;
    this.fleet = fleet;
    this.router = Router.router(vertx);
    String initial = token == null ? null : token.get();
    mountRoutes(initial == null || initial.isBlank() ? null : token);
  }

  /** The router, so a dashboard can be mounted next to the API. */
  public Router router() {
    return router;
  }

  /** Listens on {@code host:port} (0: any free port) and completes with the bound port. */
  public Future<Integer> start(String host, int port) {
    return vertx.executeBlocking(ApiServer::readOpenApi)
        .compose(doc -> {
          openApi = doc;
          return vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
              .requestHandler(router)
              .listen();
        })
        .map(s -> {
          server = s;
          LOG.info("coordinator API listening on {}:{}", host, s.actualPort());
          return s.actualPort();
        });
  }

  public Future<Void> stop() {
    HttpServer s = server;
    server = null;
    return s == null ? Future.succeededFuture() : s.close();
  }

  private void mountRoutes(Supplier<String> token) {
    router.get("/health").handler(ctx -> json(ctx, 200, Map.of("status", "UP")));
    router.get("/ready").handler(this::ready);
    router.get("/openapi.yaml").handler(this::openApi);
    mountDashboard();

    if (token != null) {
      router.route("/api/v1/*").handler(new BearerTokenHandler(token));
      router.get("/api/v1/clusters").handler(ctx -> reply(ctx, 200, fleet.clusters()));
      router.get("/api/v1/clusters/:cluster/databases")
          .handler(ctx -> reply(ctx, 200, fleet.databases(cluster(ctx))));
      router.get("/api/v1/clusters/:cluster/databases/:database/backups")
          .handler(ctx -> reply(ctx, 200, fleet.backups(cluster(ctx), database(ctx))));
      router.post("/api/v1/clusters/:cluster/databases/:database/backups").handler(this::backupNow);
      router.post("/api/v1/clusters/:cluster/databases/:database/backups/:backupId/restore")
          .handler(BodyHandler.create().setBodyLimit(MAX_BODY_BYTES))
          .handler(this::restore);
      router.get("/api/v1/runs").handler(ctx -> reply(ctx, 200, fleet.runs(limit(ctx))));
      router.get("/api/v1/runs/:runId").handler(ctx -> reply(ctx, 200, fleet.run(id(ctx, "runId"))));
      router.get("/api/v1/restores").handler(ctx -> reply(ctx, 200, fleet.restoreJobs()));
      router.get("/api/v1/restores/:jobId").handler(ctx -> reply(ctx, 200, fleet.restoreJob(id(ctx, "jobId"))));
      router.get("/api/v1/alerts").handler(ctx -> reply(ctx, 200, fleet.alerts()));
    }

    // Failures of every route (a failed future, a thrown validation error, an oversized body) end here.
    router.route().failureHandler(this::failed);
    router.errorHandler(404, ctx -> error(ctx, 404,
        "no such resource: " + ctx.request().method() + " " + ctx.request().path() + " (see /openapi.yaml)"));
    router.errorHandler(405, ctx -> error(ctx, 405,
        "method " + ctx.request().method() + " not allowed on " + ctx.request().path() + " (see /openapi.yaml)"));
  }

  /**
   * The dashboard: static files without a token (they hold no data; the page asks /api/v1 with the token the user
   * types). Its routes take every method, like the bearer check, so they are not API operations of the OpenAPI
   * document; anything but GET and HEAD falls through to 404/405.
   */
  private void mountDashboard() {
    router.route("/").handler(ctx -> redirect(ctx, "/", "/dashboard/"));
    // Vert.x matches "/dashboard/" here too: only the bare name is sent on, so that the page's relative URLs resolve.
    router.route("/dashboard").handler(ctx -> redirect(ctx, "/dashboard", "/dashboard/"));
    router.route("/dashboard/*").handler(ctx -> {
      ctx.response().putHeader("Content-Security-Policy", DASHBOARD_CSP)
          .putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("Referrer-Policy", "no-referrer");
      ctx.next();
    }).handler(StaticHandler.create(DASHBOARD_ROOT).setDefaultContentEncoding("UTF-8")
        // A coordinator upgrade changes the files; a short max-age keeps an open tab from mixing versions for long.
        .setMaxAgeSeconds(60));
  }

  private static void redirect(RoutingContext ctx, String from, String location) {
    HttpMethod m = ctx.request().method();
    if (!from.equals(ctx.request().path()) || (m != HttpMethod.GET && m != HttpMethod.HEAD)) {
      ctx.next();
      return;
    }
    ctx.response().setStatusCode(302).putHeader("Location", location).end();
  }

  private void ready(RoutingContext ctx) {
    FleetApi.Status status;
    try {
      status = fleet.status();
    } catch (RuntimeException e) {
      LOG.warn("readiness check failed", e);
      status = new FleetApi.Status(false, null, oneLine("status unavailable: " + describe(e)));
    }
    json(ctx, status.ready() ? 200 : 503, status);
  }

  private void openApi(RoutingContext ctx) {
    // Loaded by start(); read here too when the router is mounted in another server without start().
    Future<Buffer> doc = openApi != null ? Future.succeededFuture(openApi) : vertx.executeBlocking(ApiServer::readOpenApi);
    doc.onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      openApi = ar.result();
      ctx.response().putHeader("Content-Type", "application/yaml").end(ar.result());
    });
  }

  private void backupNow(RoutingContext ctx) {
    fleet.backupNow(cluster(ctx), database(ctx)).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      ctx.response().putHeader("Location", "/api/v1/runs/" + ar.result().runId());
      json(ctx, 202, ar.result());
    });
  }

  private void restore(RoutingContext ctx) {
    String cluster = cluster(ctx);
    String database = database(ctx);
    String backupId = backupId(ctx);
    Buffer body = ctx.body().buffer();
    FleetApi.RestoreRequest request = RestoreRequestParser.parse(body == null ? new byte[0] : body.getBytes());
    fleet.restore(cluster, database, backupId, request).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      ctx.response().putHeader("Location", "/api/v1/restores/" + ar.result().jobId());
      json(ctx, 202, ar.result());
    });
  }

  private static <T> void reply(RoutingContext ctx, int status, Future<T> result) {
    result.onComplete(ar -> {
      if (ar.succeeded()) {
        json(ctx, status, ar.result());
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  private void failed(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (ctx.response().headWritten()) {
      LOG.warn("{} {} failed after the response started", ctx.request().method(), ctx.request().path(), failure);
      ctx.response().reset();
      return;
    }
    if (failure instanceof NotFound) {
      error(ctx, 404, failure.getMessage());
    } else if (failure instanceof Rejected r) {
      error(ctx, r.badRequest() ? 400 : 409, r.getMessage());
    } else if (failure != null) {
      LOG.warn("{} {} failed", ctx.request().method(), ctx.request().path(), failure);
      error(ctx, 500, "internal error: " + describe(failure));
    } else {
      int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
      error(ctx, status, HttpResponseStatus.valueOf(status).reasonPhrase());
    }
  }

  // --- parameters ---------------------------------------------------------------------------------------------

  private static String cluster(RoutingContext ctx) {
    return name("cluster", ctx.pathParam("cluster"));
  }

  private static String database(RoutingContext ctx) {
    return name("database", ctx.pathParam("database"));
  }

  private static String id(RoutingContext ctx, String param) {
    return name(param, ctx.pathParam(param));
  }

  private static String backupId(RoutingContext ctx) {
    String id = ctx.pathParam("backupId");
    if (id == null || !BACKUP_ID.matcher(id).matches()) {
      throw badRequest("invalid backup id: expected the form 20250131T020000Z-1a2b3c (UTC start time, '-', "
          + "6 hex digits), as listed by GET .../backups");
    }
    return id;
  }

  /** A cluster, database or id as a person wrote it: non-blank, at most 128 characters, no control characters. */
  static String name(String what, String value) {
    if (value == null || value.isBlank()) {
      throw badRequest(what + " is required");
    }
    if (value.length() > MAX_NAME) {
      throw badRequest(what + " is longer than " + MAX_NAME + " characters");
    }
    if (value.chars().anyMatch(Character::isISOControl)) {
      throw badRequest(what + " contains control characters");
    }
    return value;
  }

  private static int limit(RoutingContext ctx) {
    String raw = ctx.queryParams().get("limit");
    if (raw == null) {
      return DEFAULT_RUN_LIMIT;
    }
    try {
      int limit = Integer.parseInt(raw.strip());
      if (limit >= 1 && limit <= MAX_RUN_LIMIT) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // reported below with the accepted range
    }
    throw badRequest("limit must be an integer from 1 to " + MAX_RUN_LIMIT + " (default " + DEFAULT_RUN_LIMIT + ")");
  }

  private static Rejected badRequest(String message) {
    return new Rejected(message, true);
  }

  // --- responses ----------------------------------------------------------------------------------------------

  static void unauthorized(RoutingContext ctx, String challenge, String message) {
    ctx.response().putHeader("WWW-Authenticate", challenge);
    error(ctx, 401, message);
  }

  private static void error(RoutingContext ctx, int status, String message) {
    json(ctx, status, Map.of("error", oneLine(message == null ? HttpResponseStatus.valueOf(status).reasonPhrase()
        : message)));
  }

  private static void json(RoutingContext ctx, int status, Object body) {
    byte[] bytes;
    try {
      bytes = MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      LOG.warn("cannot encode the response to {} {}", ctx.request().method(), ctx.request().path(), e);
      status = 500;
      bytes = ("{\"error\":\"internal error: cannot encode " + body.getClass().getSimpleName() + " as JSON\"}")
          .getBytes(StandardCharsets.UTF_8);
    }
    ctx.response().setStatusCode(status).putHeader("Content-Type", JSON).end(Buffer.buffer(bytes));
  }

  private static String describe(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  /** Error texts are single lines: a multi-line message would break log lines and clients that show it verbatim. */
  static String oneLine(String s) {
    return s.replaceAll("\\p{Cntrl}+", " ").strip();
  }

  private static Buffer readOpenApi() {
    try (InputStream in = ApiServer.class.getResourceAsStream(OPENAPI_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("classpath resource " + OPENAPI_RESOURCE + " is missing from the coordinator"
            + " jar: rebuild the coordinator module");
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + OPENAPI_RESOURCE, e);
    }
  }
}
