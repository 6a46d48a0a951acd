package io.pgfleet.storage.gcs;

import com.google.cloud.NoCredentials;
import com.google.cloud.storage.StorageOptions;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Cloud Storage JSON API v1 server for tests, in this JVM, on {@code 127.0.0.1} and a free port: the subset that
 * google-cloud-storage's HTTP client uses for what {@link GcsStorage} calls, written from Google's API reference
 * (cloud.google.com/storage/docs/json_api). The real client library talks to it over real HTTP, so the resumable
 * upload protocol, preconditions, range reads, paging and the retry paths run as they do against GCS.
 *
 * <p>What it models:
 * <ul>
 *   <li>{@code GET /storage/v1/b/{bucket}} (buckets.get); buckets exist only through {@link #createBucket}.
 *   <li>Object insert, {@code POST /upload/storage/v1/b/{bucket}/o} with {@code uploadType=media}, {@code multipart}
 *       and {@code resumable}: a resumable session is initiated with a POST (answered with a {@code Location}
 *       session URI), then filled by PUTs with {@code Content-Range: bytes a-b/&#42;} (answered 308 with the persisted
 *       {@code Range}) and finalized by the PUT that states the total ({@code bytes a-b/N} or {@code bytes &#42;/N});
 *       {@code bytes &#42;/&#42;} asks for the persisted size. A chunk that starts before the persisted end is accepted and
 *       its already-persisted head skipped, as GCS does; one that starts past it is refused (400). The object
 *       appears only on finalization.
 *   <li>Generations: every write gives the object a new, larger generation (one counter for the server) and
 *       metageneration 1. {@code ifGenerationMatch} (0: must not exist), {@code ifGenerationNotMatch},
 *       {@code ifMetagenerationMatch} and {@code ifMetagenerationNotMatch} on insert (checked at initiation and
 *       again at finalization), get and delete; a failed one answers 412 {@code conditionNotMet}. The check and the
 *       write are one step under one lock, so of concurrent inserts with {@code ifGenerationMatch=0} exactly one
 *       wins. {@code generation=N} on get reads that generation, 404 when it is no longer the live one (a bucket
 *       without object versioning keeps no other).
 *   <li>{@code GET .../o/{object}}: the resource; with {@code alt=media} the bytes, honouring {@code Range}
 *       ({@code bytes=a-b}, {@code bytes=a-}, {@code bytes=-n}; 206 with {@code Content-Range}, 416 when the
 *       range starts at or past the end of a non-empty object), with GCS's {@code x-goog-generation},
 *       {@code x-goog-hash} and {@code x-goog-stored-content-length} headers.
 *   <li>{@code GET .../o} (objects.list): {@code prefix}, {@code delimiter} (names cut at it after the prefix come
 *       back once each in {@code prefixes}), {@code maxResults} (at most 1000, as GCS) and
 *       {@code pageToken}/{@code nextPageToken}, in name order (UTF-8 byte order, as GCS).
 *   <li>{@code DELETE .../o/{object}}: 204, or 404 {@code notFound} when absent.
 *   <li>Integrity: {@code crc32c} and {@code md5Hash} in an insert's metadata, and an {@code x-goog-hash} header
 *       on an insert request, are checked against the bytes received (400 {@code invalid} on a mismatch); the
 *       server computes both for every object and returns them.
 *   <li>Errors in Google's JSON error format ({@code {"error": {"code", "message", "errors": [{"reason"}]}}}).
 *   <li>Fault injection ({@link #failNext}): the next N requests matching a predicate answer 503 or lose their
 *       connection without an answer, so the client's and pgfleet's retries run over HTTP.
 * </ul>
 *
 * <p>What it does NOT model: authentication and authorization (every request is allowed; no 401/403), ACLs and
 * IAM, bucket creation, update and deletion through the API, object versioning (older generations), composite
 * objects (compose), copy and rewrite, metadata updates (patch/update), custom metadata, content encoding (gzip
 * transcoding), storage classes, retention and holds, lifecycle, notifications, signed URLs, XML API, gRPC,
 * requester pays, {@code fields} (partial responses: the full resource is always sent), list's
 * {@code startOffset}/{@code endOffset}/{@code versions}/{@code matchGlob}, the expiry of resumable sessions after
 * a week, the 256 KiB chunk-size rule, rate limits (429) unless injected, and objects larger than memory (bytes are
 * kept in memory; request bodies are streamed into them). A request it does not implement — a method, path or query
 * parameter outside this list — is logged with its method, path and query and answered 501 {@code notImplemented},
 * and counted in {@link #unhandled()}, so a missing endpoint shows at once.
 */
public final class FakeGcsServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FakeGcsServer.class);
  private static final DateTimeFormatter RFC3339 =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern BUCKET = Pattern.compile("/storage/v1/b/([^/]+)");
  private static final Pattern OBJECTS = Pattern.compile("/storage/v1/b/([^/]+)/o");
  private static final Pattern OBJECT = Pattern.compile("(?:/download)?/storage/v1/b/([^/]+)/o/([^/]+)");
  private static final Pattern UPLOAD = Pattern.compile("/upload/storage/v1/b/([^/]+)/o");
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (?:(\\d+)-(\\d+)|\\*)/(\\d+|\\*)");
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");
  /** Parameters that do not change what is answered here (projection: the full resource is always sent). */
  private static final Set<String> IGNORED_PARAMS = Set.of("projection", "prettyPrint", "fields", "userProject",
      "alt", "uploadType", "upload_id", "name");
  private static final Set<String> PRECONDITIONS = Set.of("ifGenerationMatch", "ifGenerationNotMatch",
      "ifMetagenerationMatch", "ifMetagenerationNotMatch");

  /** What an injected failure does. */
  public enum Fault {
    /** Answers 503 backendError, after reading (and dropping) the request body: nothing is applied. */
    UNAVAILABLE,
    /** Reads (and drops) the request body, then closes the connection without an answer. */
    RESET
  }

  /** The parts of a request a fault predicate looks at. */
  public record RequestLine(String method, String path, Map<String, String> query, Headers headers) {
    public boolean isResumableChunk() {
      return method.equals("PUT") && query.containsKey("upload_id");
    }

    public boolean isMediaRead() {
      return method.equals("GET") && "media".equals(query.get("alt"));
    }

    public boolean isMetadataRead() {
      return method.equals("GET") && OBJECT.matcher(path).matches() && !isMediaRead();
    }

    @Override
    public String toString() {
      return method + " " + path + (query.isEmpty() ? "" : " " + query);
    }
  }

  private record StoredObject(String bucket, String name, byte[] data, long generation, long metageneration,
      String contentType, Instant created) {}

  /** One resumable upload session; its bytes grow until the PUT that states the total finalizes it. */
  private static final class Session {
    final String bucket;
    final String name;
    final String contentType;
    final Map<String, String> preconditions;
    final JsonObject metadata;
    final Long declaredLength;
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StoredObject result;

    Session(String bucket, String name, String contentType, Map<String, String> preconditions, JsonObject metadata,
        Long declaredLength) {
      this.bucket = bucket;
      this.name = name;
      this.contentType = contentType;
      this.preconditions = preconditions;
      this.metadata = metadata;
      this.declaredLength = declaredLength;
    }
  }

  private record FaultRule(AtomicInteger remaining, Fault fault, Predicate<RequestLine> when) {}

  /** An answer other than success: status, Google's reason and a message. */
  private static final class ApiError extends Exception {
    final int code;
    final String reason;

    ApiError(int code, String reason, String message) {
      super(message);
      this.code = code;
      this.reason = reason;
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final String endpoint;
  /** Guards buckets, objects and every session's state: a precondition check and its write are one step. */
  private final Object lock = new Object();
  private final Map<String, NavigableMap<String, StoredObject>> buckets = new HashMap<>();
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private long lastGeneration = System.currentTimeMillis() * 1000;
  private final List<FaultRule> faults = new CopyOnWriteArrayList<>();
  private final AtomicInteger injected = new AtomicInteger();
  private final List<String> unhandled = new CopyOnWriteArrayList<>();
  private final List<RequestLine> requests = Collections.synchronizedList(new ArrayList<>());

  static {
    // Without TCP_NODELAY a small answer waits out the client's delayed ACK (40 ms a request). The JDK server reads
    // this once, when its first instance is made.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private FakeGcsServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "fake-gcs");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    endpoint = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** A started server with no buckets. */
  public static FakeGcsServer start() throws IOException {
    FakeGcsServer s = new FakeGcsServer();
    s.server.start();
    return s;
  }

  /** {@code http://127.0.0.1:PORT}: the host for StorageOptions, or the value of STORAGE_EMULATOR_HOST. */
  public String endpoint() {
    return endpoint;
  }

  /** The client options pgfleet uses for an emulator (GcsStorage's own), pointed at this server. */
  public StorageOptions options() {
    return GcsStorage.emulatorOptions(endpoint, "test");
  }

  public FakeGcsServer createBucket(String name) {
    synchronized (lock) {
      buckets.putIfAbsent(name, new TreeMap<>(FakeGcsServer::utf8Order));
    }
    return this;
  }

  /** Removes every object and session, pending fault, and the request log and counters (buckets stay). */
  public void clear() {
    synchronized (lock) {
      buckets.values().forEach(Map::clear);
      sessions.clear();
    }
    faults.clear();
    injected.set(0);
    unhandled.clear();
    requests.clear();
  }

  /** The live object names in a bucket, in GCS order. */
  public List<String> objectNames(String bucket) {
    synchronized (lock) {
      NavigableMap<String, StoredObject> objects = buckets.get(bucket);
      return objects == null ? List.of() : new ArrayList<>(objects.keySet());
    }
  }

  /** The next {@code count} requests matching {@code when} fail with {@code fault}. */
  public void failNext(int count, Fault fault, Predicate<RequestLine> when) {
    faults.add(new FaultRule(new AtomicInteger(count), fault, when));
  }

  /** How many requests were failed on purpose so far. */
  public int injectedFailures() {
    return injected.get();
  }

  /** Requests this server does not implement (each answered 501), as "METHOD path query". */
  public List<String> unhandled() {
    return List.copyOf(unhandled);
  }

  /** Every request received, in arrival order. */
  public List<RequestLine> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  // ---- dispatch ----

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String method = ex.getRequestMethod();
      String path = ex.getRequestURI().getRawPath();
      Map<String, String> query = query(ex.getRequestURI().getRawQuery());
      RequestLine line = new RequestLine(method, path, query, ex.getRequestHeaders());
      requests.add(line);
      for (FaultRule rule : faults) {
        if (rule.when.test(line) && rule.remaining.getAndDecrement() > 0) {
          injected.incrementAndGet();
          drain(ex);
          LOG.info("fake GCS: injected {} for {}", rule.fault, line);
          if (rule.fault == Fault.RESET) {
            // The JDK server closes the connection of an exchange whose handler throws: the client sees the
            // connection end with no answer.
            throw new IllegalStateException("injected connection reset");
          }
          sendError(ex, new ApiError(503, "backendError", "injected: service unavailable"));
          return;
        }
      }
      try {
        route(ex, line);
      } catch (ApiError e) {
        drain(ex);
        sendError(ex, e);
      } catch (RuntimeException e) {
        LOG.error("fake GCS: {} failed", line, e);
        drain(ex);
        sendError(ex, new ApiError(500, "backendError", "fake server failure: " + e));
      }
    }
  }

  private void route(HttpExchange ex, RequestLine r) throws IOException, ApiError {
    Matcher m;
    if (r.path.startsWith("/upload/storage/v1/") && (m = UPLOAD.matcher(r.path)).matches()) {
      String bucket = decode(m.group(1));
      String type = r.query.getOrDefault("uploadType", "");
      if (r.method.equals("POST") && type.equals("media")) {
        known(r, PRECONDITIONS);
        insertMedia(ex, r, bucket);
        return;
      }
      if (r.method.equals("POST") && type.equals("multipart")) {
        known(r, PRECONDITIONS);
        insertMultipart(ex, r, bucket);
        return;
      }
      if (r.method.equals("POST") && type.equals("resumable") && !r.query.containsKey("upload_id")) {
        known(r, PRECONDITIONS);
        initiateResumable(ex, r, bucket);
        return;
      }
      if (r.method.equals("PUT") && r.query.containsKey("upload_id")) {
        known(r, Set.of());
        resumableChunk(ex, r);
        return;
      }
      if (r.method.equals("DELETE") && r.query.containsKey("upload_id")) {
        known(r, Set.of());
        sessions.remove(r.query.get("upload_id"));
        send(ex, 499, null); // GCS answers a cancelled session with 499
        return;
      }
    } else if ((m = OBJECT.matcher(r.path)).matches()) {
      String bucket = decode(m.group(1));
      String name = decode(m.group(2));
      if (r.method.equals("GET")) {
        known(r, union(PRECONDITIONS, Set.of("generation")));
        getObject(ex, r, bucket, name);
        return;
      }
      if (r.method.equals("DELETE")) {
        known(r, union(PRECONDITIONS, Set.of("generation")));
        deleteObject(ex, r, bucket, name);
        return;
      }
    } else if ((m = OBJECTS.matcher(r.path)).matches()) {
      if (r.method.equals("GET")) {
        known(r, Set.of("prefix", "delimiter", "maxResults", "pageToken", "includeTrailingDelimiter"));
        list(ex, r, decode(m.group(1)));
        return;
      }
    } else if ((m = BUCKET.matcher(r.path)).matches()) {
      if (r.method.equals("GET")) {
        known(r, Set.of("ifMetagenerationMatch", "ifMetagenerationNotMatch"));
        String bucket = decode(m.group(1));
        synchronized (lock) {
          bucketObjects(bucket);
        }
        JsonObject b = new JsonObject();
        b.addProperty("kind", "storage#bucket");
        b.addProperty("id", bucket);
        b.addProperty("selfLink", endpoint + "/storage/v1/b/" + bucket);
        b.addProperty("name", bucket);
        b.addProperty("projectNumber", "0");
        b.addProperty("metageneration", "1");
        b.addProperty("location", "US");
        b.addProperty("storageClass", "STANDARD");
        b.addProperty("etag", "CAE=");
        sendJson(ex, 200, b);
        return;
      }
    }
    throw notImplemented(r);
  }

  private ApiError notImplemented(RequestLine r) {
    String what = r.method + " " + r.path + " " + r.query;
    unhandled.add(what);
    LOG.error("fake GCS does not implement {}", what);
    return new ApiError(501, "notImplemented", "FakeGcsServer does not implement " + what);
  }

  /** Any parameter outside the ones this endpoint honours (or ignores on purpose) is a 501, never silently dropped. */
  private void known(RequestLine r, Set<String> honoured) throws ApiError {
    for (String p : r.query.keySet()) {
      if (!honoured.contains(p) && !IGNORED_PARAMS.contains(p)) {
        throw notImplemented(r);
      }
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> u = new TreeSet<>(a);
    u.addAll(b);
    return u;
  }

  // ---- objects ----

  private NavigableMap<String, StoredObject> bucketObjects(String bucket) throws ApiError {
    NavigableMap<String, StoredObject> objects = buckets.get(bucket);
    if (objects == null) {
      throw new ApiError(404, "notFound", "The specified bucket does not exist.");
    }
    return objects;
  }

  /** Google's precondition semantics against the live object (null: none). */
  private static void checkPreconditions(Map<String, String> query, StoredObject current) throws ApiError {
    long generation = current == null ? 0 : current.generation;
    String v;
    if ((v = query.get("ifGenerationMatch")) != null && Long.parseLong(v) != generation) {
      throw conditionNotMet("ifGenerationMatch", v);
    }
    if ((v = query.get("ifGenerationNotMatch")) != null && Long.parseLong(v) == generation) {
      throw conditionNotMet("ifGenerationNotMatch", v);
    }
    if ((v = query.get("ifMetagenerationMatch")) != null
        && (current == null || Long.parseLong(v) != current.metageneration)) {
      throw conditionNotMet("ifMetagenerationMatch", v);
    }
    if ((v = query.get("ifMetagenerationNotMatch")) != null
        && current != null && Long.parseLong(v) == current.metageneration) {
      throw conditionNotMet("ifMetagenerationNotMatch", v);
    }
  }

  private static ApiError conditionNotMet(String which, String value) {
    return new ApiError(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold ("
        + which + "=" + value + ").");
  }

  private static Map<String, String> preconditions(Map<String, String> query) {
    Map<String, String> p = new HashMap<>();
    for (String k : PRECONDITIONS) {
      if (query.containsKey(k)) {
        p.put(k, query.get(k));
      }
    }
    return p;
  }

  /** Checks the preconditions and stores the object as one step: the heart of the commit-if-absent race. */
  private StoredObject store(String bucket, String name, byte[] data, String contentType,
      Map<String, String> preconditions) throws ApiError {
    if (name == null || name.isEmpty()) {
      throw new ApiError(400, "required", "Required: object name");
    }
    synchronized (lock) {
      NavigableMap<String, StoredObject> objects = bucketObjects(bucket);
      StoredObject current = objects.get(name);
      checkPreconditions(preconditions, current);
      StoredObject o = new StoredObject(bucket, name, data, ++lastGeneration, 1,
          contentType == null ? "application/octet-stream" : contentType, Instant.now());
      objects.put(name, o);
      return o;
    }
  }

  private void insertMedia(HttpExchange ex, RequestLine r, String bucket) throws IOException, ApiError {
    byte[] data = body(ex);
    checkHashes(null, r.headers, data);
    StoredObject o = store(bucket, r.query.get("name"), data, r.headers.getFirst("Content-Type"),
        preconditions(r.query));
    sendJson(ex, 200, resource(o));
  }

  private void insertMultipart(HttpExchange ex, RequestLine r, String bucket) throws IOException, ApiError {
    String type = r.headers.getFirst("Content-Type");
    Matcher b = type == null ? null : Pattern.compile("boundary=\"?([^\";]+)\"?").matcher(type);
    if (b == null || !type.startsWith("multipart/related") || !b.find()) {
      throw new ApiError(400, "invalid", "multipart upload without a multipart/related boundary: " + type);
    }
    // A multipart body is metadata plus the whole object, which is kept in memory anyway.
    byte[] raw = body(ex);
    List<byte[]> parts = multipartBodies(raw, b.group(1));
    if (parts.size() != 2) {
      throw new ApiError(400, "invalid", "a multipart upload has 2 parts, not " + parts.size());
    }
    JsonObject metadata = JsonParser.parseString(new String(parts.get(0), StandardCharsets.UTF_8)).getAsJsonObject();
    byte[] data = parts.get(1);
    checkHashes(metadata, r.headers, data);
    String name = metadata.has("name") ? metadata.get("name").getAsString() : r.query.get("name");
    String contentType = metadata.has("contentType") ? metadata.get("contentType").getAsString() : null;
    StoredObject o = store(bucket, name, data, contentType, preconditions(r.query));
    sendJson(ex, 200, resource(o));
  }

  /** The bodies of the parts of a multipart/related entity (each part's headers dropped). */
  private static List<byte[]> multipartBodies(byte[] body, String boundary) throws ApiError {
    byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    List<byte[]> parts = new ArrayList<>();
    int at = indexOf(body, delimiter, 0);
    while (at >= 0) {
      int start = at + delimiter.length;
      if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') {
        return parts;
      }
      int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), start);
      int next = indexOf(body, ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1), start);
      if (headersEnd < 0 || next < 0 || headersEnd > next) {
        throw new ApiError(400, "invalid", "malformed multipart body");
      }
      byte[] part = new byte[next - (headersEnd + 4)];
      System.arraycopy(body, headersEnd + 4, part, 0, part.length);
      parts.add(part);
      at = next + 2;
    }
    throw new ApiError(400, "invalid", "multipart body without its closing delimiter");
  }

  private static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = from; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private void initiateResumable(HttpExchange ex, RequestLine r, String bucket) throws IOException, ApiError {
    byte[] body = body(ex);
    JsonObject metadata = body.length == 0 ? new JsonObject()
        : JsonParser.parseString(new String(body, StandardCharsets.UTF_8)).getAsJsonObject();
    String name = metadata.has("name") ? metadata.get("name").getAsString() : r.query.get("name");
    if (name == null || name.isEmpty()) {
      throw new ApiError(400, "required", "Required: object name");
    }
    String contentType = metadata.has("contentType") ? metadata.get("contentType").getAsString()
        : r.headers.getFirst("X-Upload-Content-Type");
    String length = r.headers.getFirst("X-Upload-Content-Length");
    Map<String, String> preconditions = preconditions(r.query);
    synchronized (lock) {
      checkPreconditions(preconditions, bucketObjects(bucket).get(name)); // GCS fails early, and again at the end
    }
    String id = UUID.randomUUID().toString();
    sessions.put(id, new Session(bucket, name, contentType, preconditions, metadata,
        length == null ? null : Long.parseLong(length)));
    ex.getResponseHeaders().set("Location", endpoint + "/upload/storage/v1/b/" + encode(bucket)
        + "/o?uploadType=resumable&upload_id=" + id);
    send(ex, 200, new byte[0]);
  }

  private void resumableChunk(HttpExchange ex, RequestLine r) throws IOException, ApiError {
    Session s = sessions.get(r.query.get("upload_id"));
    if (s == null) {
      throw new ApiError(404, "notFound", "No such upload session (it was finished long ago, cancelled or never"
          + " existed).");
    }
    String header = r.headers.getFirst("Content-Range");
    Matcher m = header == null ? null : CONTENT_RANGE.matcher(header.trim());
    if (m == null || !m.matches()) {
      throw new ApiError(400, "invalid", "a resumable upload PUT needs Content-Range: bytes a-b/N, bytes a-b/*,"
          + " bytes */N or bytes */*, not " + header);
    }
    Long total = m.group(3).equals("*") ? null : Long.parseLong(m.group(3));
    // The session's bytes are appended while holding it: two PUTs on one session never interleave.
    synchronized (s) {
      if (s.result != null) {
        drain(ex);
        sendJson(ex, 200, resource(s.result)); // a finalized session answers with its object
        return;
      }
      if (m.group(1) != null) {
        long first = Long.parseLong(m.group(1));
        long last = Long.parseLong(m.group(2));
        long persisted = s.bytes.size();
        if (first > persisted) {
          throw new ApiError(400, "invalid", "chunk starts at " + first + " but only " + persisted
              + " bytes were persisted");
        }
        appendSkipping(bodyStream(ex), s.bytes, persisted - first, last - first + 1);
      } else {
        drain(ex);
      }
      if (total == null) {
        if (s.bytes.size() > 0) {
          ex.getResponseHeaders().set("Range", "bytes=0-" + (s.bytes.size() - 1));
        }
        send(ex, 308, null);
        return;
      }
      if (s.bytes.size() != total) {
        throw new ApiError(400, "invalid", "the upload states " + total + " bytes in all but " + s.bytes.size()
            + " were received");
      }
      if (s.declaredLength != null && s.declaredLength != total) {
        throw new ApiError(400, "invalid", "X-Upload-Content-Length was " + s.declaredLength + ", the upload has "
            + total);
      }
      byte[] data = s.bytes.toByteArray();
      checkHashes(s.metadata, r.headers, data);
      s.result = store(s.bucket, s.name, data, s.contentType, s.preconditions);
      sendJson(ex, 200, resource(s.result));
    }
  }

  /** Appends a chunk's body, without the {@code skip} bytes the session already holds; checks its length. */
  private static void appendSkipping(InputStream body, ByteArrayOutputStream to, long skip, long length)
      throws IOException, ApiError {
    byte[] buf = new byte[64 * 1024];
    long seen = 0;
    int n;
    while ((n = body.read(buf)) > 0) {
      int from = (int) Math.max(0, Math.min(n, skip - seen));
      to.write(buf, from, n - from);
      seen += n;
    }
    if (seen != length) {
      throw new ApiError(400, "invalid", "Content-Range states " + length + " bytes, the body has " + seen);
    }
  }

  private void getObject(HttpExchange ex, RequestLine r, String bucket, String name) throws IOException, ApiError {
    StoredObject o;
    synchronized (lock) {
      o = bucketObjects(bucket).get(name);
      if (o != null && r.query.containsKey("generation") && Long.parseLong(r.query.get("generation")) != o.generation) {
        o = null;
      }
      if (o == null) {
        // GCS answers a precondition on an absent object with 404 for reads
        throw new ApiError(404, "notFound", "No such object: " + bucket + "/" + name);
      }
      checkPreconditions(r.query, o);
    }
    if (!r.isMediaRead()) {
      sendJson(ex, 200, resource(o));
      return;
    }
    Headers h = ex.getResponseHeaders();
    h.set("Content-Type", o.contentType);
    h.set("x-goog-generation", Long.toString(o.generation));
    h.set("x-goog-metageneration", Long.toString(o.metageneration));
    h.set("x-goog-stored-content-length", Integer.toString(o.data.length));
    h.set("x-goog-stored-content-encoding", "identity");
    h.set("x-goog-hash", "crc32c=" + crc32c(o.data) + ",md5=" + md5(o.data));
    h.set("ETag", etag(o));
    String range = r.headers.getFirst("Range");
    if (range == null || o.data.length == 0) {
      send(ex, 200, o.data);
      return;
    }
    Matcher m = RANGE.matcher(range.trim());
    if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
      send(ex, 200, o.data); // GCS ignores a Range header it cannot parse
      return;
    }
    long size = o.data.length;
    long first;
    long last;
    if (m.group(1).isEmpty()) {
      first = Math.max(0, size - Long.parseLong(m.group(2)));
      last = size - 1;
    } else {
      first = Long.parseLong(m.group(1));
      last = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
    }
    if (first >= size) {
      h.remove("Content-Type");
      throw new ApiError(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.");
    }
    h.set("Content-Range", "bytes " + first + "-" + last + "/" + size);
    byte[] slice = new byte[(int) (last - first + 1)];
    System.arraycopy(o.data, (int) first, slice, 0, slice.length);
    send(ex, 206, slice);
  }

  private void deleteObject(HttpExchange ex, RequestLine r, String bucket, String name) throws IOException, ApiError {
    synchronized (lock) {
      NavigableMap<String, StoredObject> objects = bucketObjects(bucket);
      StoredObject o = objects.get(name);
      if (o == null || (r.query.containsKey("generation")
          && Long.parseLong(r.query.get("generation")) != o.generation)) {
        throw new ApiError(404, "notFound", "No such object: " + bucket + "/" + name);
      }
      checkPreconditions(r.query, o);
      objects.remove(name);
    }
    send(ex, 204, null);
  }

  private void list(HttpExchange ex, RequestLine r, String bucket) throws IOException, ApiError {
    String prefix = r.query.getOrDefault("prefix", "");
    String delimiter = r.query.get("delimiter");
    boolean includeTrailing = Boolean.parseBoolean(r.query.get("includeTrailingDelimiter"));
    int max = 1000;
    if (r.query.containsKey("maxResults")) {
      max = Math.min(1000, Integer.parseInt(r.query.get("maxResults")));
      if (max < 1) {
        throw new ApiError(400, "invalid", "Invalid argument: maxResults " + max);
      }
    }
    String after = null;
    if (r.query.containsKey("pageToken")) {
      after = new String(Base64.getUrlDecoder().decode(r.query.get("pageToken")), StandardCharsets.UTF_8);
    }
    JsonArray items = new JsonArray();
    Set<String> prefixes = new TreeSet<>(FakeGcsServer::utf8Order);
    String last = null;
    boolean more = false;
    synchronized (lock) {
      NavigableMap<String, StoredObject> objects = bucketObjects(bucket);
      NavigableMap<String, StoredObject> from = after == null ? objects : objects.tailMap(after, false);
      int count = 0;
      for (StoredObject o : from.values()) {
        if (!o.name.startsWith(prefix)) {
          if (utf8Order(o.name, prefix) > 0) {
            break;
          }
          continue;
        }
        if (count == max) {
          more = true;
          break;
        }
        int cut = delimiter == null ? -1 : o.name.indexOf(delimiter, prefix.length());
        if (cut >= 0) {
          String p = o.name.substring(0, cut + delimiter.length());
          if (prefixes.add(p)) {
            count++;
            if (includeTrailing && o.name.equals(p)) {
              items.add(resource(o));
            }
          }
        } else {
          items.add(resource(o));
          count++;
        }
        last = o.name;
      }
    }
    JsonObject page = new JsonObject();
    page.addProperty("kind", "storage#objects");
    if (more && last != null) {
      page.addProperty("nextPageToken",
          Base64.getUrlEncoder().encodeToString(last.getBytes(StandardCharsets.UTF_8)));
    }
    if (!prefixes.isEmpty()) {
      JsonArray p = new JsonArray();
      prefixes.forEach(p::add);
      page.add("prefixes", p);
    }
    if (!items.isEmpty()) {
      page.add("items", items);
    }
    sendJson(ex, 200, page);
  }

  private JsonObject resource(StoredObject o) {
    JsonObject j = new JsonObject();
    String time = RFC3339.format(o.created);
    j.addProperty("kind", "storage#object");
    j.addProperty("id", o.bucket + "/" + o.name + "/" + o.generation);
    j.addProperty("selfLink", endpoint + "/storage/v1/b/" + encode(o.bucket) + "/o/" + encode(o.name));
    j.addProperty("mediaLink", endpoint + "/download/storage/v1/b/" + encode(o.bucket) + "/o/" + encode(o.name)
        + "?generation=" + o.generation + "&alt=media");
    j.addProperty("name", o.name);
    j.addProperty("bucket", o.bucket);
    j.addProperty("generation", Long.toString(o.generation));
    j.addProperty("metageneration", Long.toString(o.metageneration));
    j.addProperty("contentType", o.contentType);
    j.addProperty("storageClass", "STANDARD");
    j.addProperty("size", Integer.toString(o.data.length));
    j.addProperty("md5Hash", md5(o.data));
    j.addProperty("crc32c", crc32c(o.data));
    j.addProperty("etag", etag(o));
    j.addProperty("timeCreated", time);
    j.addProperty("updated", time);
    j.addProperty("timeStorageClassUpdated", time);
    return j;
  }

  // ---- integrity ----

  /** Checks every hash the client sent (metadata crc32c/md5Hash, x-goog-hash) against the bytes received. */
  private static void checkHashes(JsonObject metadata, Headers headers, byte[] data) throws ApiError {
    Map<String, String> claimed = new LinkedHashMap<>();
    if (metadata != null && metadata.has("crc32c")) {
      claimed.put("crc32c", metadata.get("crc32c").getAsString());
    }
    if (metadata != null && metadata.has("md5Hash")) {
      claimed.put("md5", metadata.get("md5Hash").getAsString());
    }
    for (String header : headers.getOrDefault("x-goog-hash", List.of())) {
      for (String part : header.split(",")) {
        int eq = part.indexOf('=');
        if (eq > 0) {
          claimed.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
      }
    }
    for (Map.Entry<String, String> c : claimed.entrySet()) {
      String actual = switch (c.getKey()) {
        case "crc32c" -> crc32c(data);
        case "md5" -> md5(data);
        default -> null;
      };
      if (actual != null && !actual.equals(c.getValue())) {
        throw new ApiError(400, "invalid", "Provided " + c.getKey() + " \"" + c.getValue()
            + "\" doesn't match calculated " + c.getKey() + " \"" + actual + "\".");
      }
    }
  }

  static String crc32c(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data);
    return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  static String md5(byte[] data) {
    try {
      return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String etag(StoredObject o) {
    return "\"" + Long.toHexString(o.generation) + "\"";
  }

  // ---- HTTP plumbing ----

  /** GCS orders names by their UTF-8 bytes. */
  private static int utf8Order(String a, String b) {
    return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return q;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      q.put(k, v);
    }
    return q;
  }

  /** Percent-decoding of one path segment ('+' is a plus here, and %2F a slash inside an object name). */
  private static String decode(String segment) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (c == '%' && i + 2 < segment.length()) {
        out.write(Integer.parseInt(segment.substring(i + 1, i + 3), 16));
        i += 2;
      } else {
        out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** The whole request body, un-gzipped when the client compressed it. */
  private static byte[] body(HttpExchange ex) throws IOException {
    return bodyStream(ex).readAllBytes();
  }

  /** The request body as sent before compression: the client gzips JSON and multipart bodies. */
  private static InputStream bodyStream(HttpExchange ex) throws IOException {
    InputStream in = ex.getRequestBody();
    String encoding = ex.getRequestHeaders().getFirst("Content-Encoding");
    return "gzip".equalsIgnoreCase(encoding) ? new java.util.zip.GZIPInputStream(in) : in;
  }

  private static void drain(HttpExchange ex) {
    try (InputStream in = ex.getRequestBody()) {
      in.transferTo(OutputStream.nullOutputStream());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sendJson(HttpExchange ex, int code, JsonObject body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
    send(ex, code, body.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static void sendError(HttpExchange ex, ApiError e) throws IOException {
    JsonObject detail = new JsonObject();
    detail.addProperty("domain", "global");
    detail.addProperty("reason", e.reason);
    detail.addProperty("message", e.getMessage());
    JsonArray errors = new JsonArray();
    errors.add(detail);
    JsonObject error = new JsonObject();
    error.addProperty("code", e.code);
    error.addProperty("message", e.getMessage());
    error.add("errors", errors);
    JsonObject body = new JsonObject();
    body.add("error", error);
    sendJson(ex, e.code, body);
  }

  /** {@code body} null: no body at all (308, 204). */
  private static void send(HttpExchange ex, int code, byte[] body) throws IOException {
    if (body == null || body.length == 0) {
      ex.sendResponseHeaders(code, -1);
      return;
    }
    ex.sendResponseHeaders(code, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }
}
