package io.pgfleet.storage.gcs;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fake server's protocol, by raw HTTP and checked against Google's JSON API reference rather than against what
 * the client library happens to send: if the fake drifted from GCS, GcsStorageFakeServerTest could pass against a
 * wrong model.
 */
class FakeGcsServerTest {
  private static FakeGcsServer server;
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws IOException {
    server = FakeGcsServer.start().createBucket("b");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void empty() {
    server.clear();
  }

  private static HttpResponse<String> send(String method, String pathAndQuery, byte[] body, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.endpoint() + pathAndQuery))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.ISO_8859_1));
  }

  private static HttpResponse<String> insert(String name, String content, String... query)
      throws IOException, InterruptedException {
    return send("POST", "/upload/storage/v1/b/b/o?uploadType=media&name=" + name + String.join("", query),
        content.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonObject json(HttpResponse<String> r) {
    return JsonParser.parseString(r.body()).getAsJsonObject();
  }

  private static String reason(HttpResponse<String> r) {
    JsonObject error = json(r).getAsJsonObject("error");
    assertThat(error.get("code").getAsInt()).isEqualTo(r.statusCode());
    return error.getAsJsonArray("errors").get(0).getAsJsonObject().get("reason").getAsString();
  }

  @Test
  void concurrentInsertsThatMustNotFindTheObjectHaveExactlyOneWinner() throws Exception {
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CyclicBarrier barrier = new CyclicBarrier(threads);
      List<Future<HttpResponse<String>>> answers = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        String content = "writer-" + i;
        answers.add(pool.submit(() -> {
          barrier.await(10, TimeUnit.SECONDS);
          return insert("m", content, "&ifGenerationMatch=0");
        }));
      }
      int won = 0;
      for (Future<HttpResponse<String>> f : answers) {
        HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
        if (r.statusCode() == 200) {
          won++;
        } else {
          assertThat(r.statusCode()).isEqualTo(412);
          assertThat(reason(r)).isEqualTo("conditionNotMet");
        }
      }
      assertThat(won).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void generationsGrowAndPreconditionsFollowThem() throws Exception {
    long first = json(insert("g", "one")).get("generation").getAsLong();
    long second = json(insert("g", "two", "&ifGenerationMatch=" + first)).get("generation").getAsLong();
    assertThat(second).isGreaterThan(first);
    assertThat(insert("g", "three", "&ifGenerationMatch=" + first).statusCode()).isEqualTo(412);
    assertThat(insert("g", "three", "&ifGenerationNotMatch=" + second).statusCode()).isEqualTo(412);
    assertThat(send("GET", "/storage/v1/b/b/o/g?generation=" + first, null).statusCode()).isEqualTo(404);
    assertThat(send("GET", "/storage/v1/b/b/o/g?alt=media", null).body()).isEqualTo("two");
  }

  @Test
  void aResumableUploadAppearsOnlyWhenFinalizedAndResumesFromThePersistedOffset() throws Exception {
    HttpResponse<String> init = send("POST", "/upload/storage/v1/b/b/o?uploadType=resumable",
        "{\"name\":\"dir/obj\"}".getBytes(StandardCharsets.UTF_8), "Content-Type", "application/json");
    assertThat(init.statusCode()).isEqualTo(200);
    String session = init.headers().firstValue("Location").orElseThrow().substring(server.endpoint().length());
    byte[] data = "0123456789abcdefghij".getBytes(StandardCharsets.US_ASCII);

    HttpResponse<String> r = send("PUT", session, java.util.Arrays.copyOfRange(data, 0, 10),
        "Content-Range", "bytes 0-9/*");
    assertThat(r.statusCode()).isEqualTo(308);
    assertThat(r.headers().firstValue("Range")).hasValue("bytes=0-9");
    assertThat(send("GET", "/storage/v1/b/b/o/dir%2Fobj", null).statusCode()).as("invisible until finalized")
        .isEqualTo(404);
    r = send("PUT", session, null, "Content-Range", "bytes */*");
    assertThat(r.statusCode()).isEqualTo(308);
    assertThat(r.headers().firstValue("Range")).hasValue("bytes=0-9");
    // A resend overlapping what was persisted: GCS keeps the persisted bytes and takes the rest.
    r = send("PUT", session, java.util.Arrays.copyOfRange(data, 5, 15), "Content-Range", "bytes 5-14/*");
    assertThat(r.headers().firstValue("Range")).hasValue("bytes=0-14");
    assertThat(send("PUT", session, java.util.Arrays.copyOfRange(data, 16, 20), "Content-Range", "bytes 16-19/20")
        .statusCode()).as("a gap is refused").isEqualTo(400);
    r = send("PUT", session, java.util.Arrays.copyOfRange(data, 15, 20), "Content-Range", "bytes 15-19/20");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).get("size").getAsString()).isEqualTo("20");
    assertThat(json(r).get("crc32c").getAsString()).isEqualTo(FakeGcsServer.crc32c(data));
    assertThat(send("GET", "/storage/v1/b/b/o/dir%2Fobj?alt=media", null).body()).isEqualTo(new String(data,
        StandardCharsets.US_ASCII));
  }

  @Test
  void rangeReadsFollowGcs() throws Exception {
    insert("r", "0123456789");
    HttpResponse<String> r = send("GET", "/storage/v1/b/b/o/r?alt=media", null, "Range", "bytes=4-");
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.body()).isEqualTo("456789");
    assertThat(r.headers().firstValue("Content-Range")).hasValue("bytes 4-9/10");
    assertThat(send("GET", "/storage/v1/b/b/o/r?alt=media", null, "Range", "bytes=2-4").body()).isEqualTo("234");
    assertThat(send("GET", "/storage/v1/b/b/o/r?alt=media", null, "Range", "bytes=8-100").body()).isEqualTo("89");
    assertThat(send("GET", "/storage/v1/b/b/o/r?alt=media", null, "Range", "bytes=-3").body()).isEqualTo("789");
    r = send("GET", "/storage/v1/b/b/o/r?alt=media", null, "Range", "bytes=10-");
    assertThat(r.statusCode()).isEqualTo(416);
    assertThat(reason(r)).isEqualTo("requestedRangeNotSatisfiable");
  }

  @Test
  void aHashThatDoesNotMatchTheBytesIsRefusedAndNothingIsStored() throws Exception {
    HttpResponse<String> r = send("POST", "/upload/storage/v1/b/b/o?uploadType=media&name=h",
        "data".getBytes(StandardCharsets.UTF_8), "x-goog-hash", "crc32c=AAAAAA==");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(reason(r)).isEqualTo("invalid");
    assertThat(server.objectNames("b")).isEmpty();
    assertThat(send("POST", "/upload/storage/v1/b/b/o?uploadType=media&name=h",
        "data".getBytes(StandardCharsets.UTF_8), "x-goog-hash",
        "crc32c=" + FakeGcsServer.crc32c("data".getBytes(StandardCharsets.UTF_8))).statusCode()).isEqualTo(200);
  }

  @Test
  void listingPagesWithTokensAndFoldsNamesAtTheDelimiter() throws Exception {
    for (String n : List.of("a/1", "a/2", "a/3", "a/sub/4", "a/sub/5", "b/6")) {
      insert(n, n);
    }
    JsonObject page = json(send("GET", "/storage/v1/b/b/o?prefix=a%2F&maxResults=2", null));
    assertThat(page.getAsJsonArray("items")).hasSize(2);
    String token = page.get("nextPageToken").getAsString();
    page = json(send("GET", "/storage/v1/b/b/o?prefix=a%2F&maxResults=2&pageToken=" + token, null));
    assertThat(page.getAsJsonArray("items").get(0).getAsJsonObject().get("name").getAsString()).isEqualTo("a/3");
    token = page.get("nextPageToken").getAsString();
    page = json(send("GET", "/storage/v1/b/b/o?prefix=a%2F&maxResults=2&pageToken=" + token, null));
    assertThat(page.has("nextPageToken")).isFalse();
    assertThat(page.getAsJsonArray("items")).hasSize(1);

    page = json(send("GET", "/storage/v1/b/b/o?prefix=a%2F&delimiter=%2F", null));
    assertThat(page.getAsJsonArray("items")).hasSize(3);
    assertThat(page.getAsJsonArray("prefixes").get(0).getAsString()).isEqualTo("a/sub/");
  }

  @Test
  void deletingAnAbsentObjectIs404AndAnUnknownRequestIs501AndRecorded() throws Exception {
    HttpResponse<String> r = send("DELETE", "/storage/v1/b/b/o/nothing", null);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(reason(r)).isEqualTo("notFound");
    r = send("POST", "/storage/v1/b/b/o/x/rewriteTo/b/b/o/y", new byte[0]);
    assertThat(r.statusCode()).isEqualTo(501);
    assertThat(reason(r)).isEqualTo("notImplemented");
    assertThat(send("GET", "/storage/v1/b/b/o?versions=true", null).statusCode()).isEqualTo(501);
    assertThat(server.unhandled()).hasSize(2).allMatch(u -> u.startsWith("POST /storage/v1/b/b/o/x/rewriteTo")
        || u.contains("versions=true"));
  }
}
