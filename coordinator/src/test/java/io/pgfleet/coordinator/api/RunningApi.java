package io.pgfleet.coordinator.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.common.json.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** An {@link ApiServer} on a free port of 127.0.0.1 over an {@link InMemoryFleet}, and a client that records replies. */
final class RunningApi implements AutoCloseable {
  static final String TOKEN = "t0k3n-that-must-never-be-echoed";

  final Vertx vertx = Vertx.vertx();
  final InMemoryFleet fleet = new InMemoryFleet();
  final ApiServer server;
  final int port;
  /** Every reply's headers and body, to prove the token is never sent back. */
  final List<String> replies = new CopyOnWriteArrayList<>();
  private final WebClient client = WebClient.create(vertx);

  RunningApi(Supplier<String> token) throws Exception {
    server = new ApiServer(vertx, fleet, token);
    port = await(server.start("127.0.0.1", 0));
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  HttpRequest<Buffer> request(HttpMethod method, String uri) {
    return client.request(method, port, "127.0.0.1", uri);
  }

  HttpResponse<Buffer> send(HttpRequest<Buffer> request) throws Exception {
    return record(await(request.send()));
  }

  HttpResponse<Buffer> send(HttpRequest<Buffer> request, String body) throws Exception {
    return record(await(request.putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(body))));
  }

  /** {@code method uri} with the right token. */
  HttpResponse<Buffer> authorized(HttpMethod method, String uri) throws Exception {
    return send(request(method, uri).putHeader("Authorization", "Bearer " + TOKEN));
  }

  HttpResponse<Buffer> authorized(HttpMethod method, String uri, String body) throws Exception {
    return send(request(method, uri).putHeader("Authorization", "Bearer " + TOKEN), body);
  }

  static JsonNode json(HttpResponse<Buffer> response) throws Exception {
    return Json.MAPPER.readTree(response.body().getBytes());
  }

  private HttpResponse<Buffer> record(HttpResponse<Buffer> response) {
    replies.add(response.headers() + "\n" + (response.body() == null ? "" : response.bodyAsString()));
    return response;
  }

  @Override
  public void close() throws Exception {
    client.close();
    await(server.stop());
    await(vertx.close());
  }
}
