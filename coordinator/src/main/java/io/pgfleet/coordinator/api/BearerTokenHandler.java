package io.pgfleet.coordinator.api;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.function.Supplier;

/**
 * Lets a request through only with {@code Authorization: Bearer <token>}. The token is asked of the supplier on every
 * request so a rotated token takes effect without a restart; a supplier that answers null or blank rejects every
 * request (fail closed). Neither the token nor the header is ever logged or echoed.
 */
final class BearerTokenHandler implements Handler<RoutingContext> {
  private static final String SCHEME = "bearer";

  private final Supplier<String> token;

  BearerTokenHandler(Supplier<String> token) {
    this.token = token;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String header = ctx.request().getHeader("Authorization");
    String presented = presentedToken(header);
    if (presented == null) {
      ApiServer.unauthorized(ctx, "Bearer realm=\"pgfleet\"",
          "missing bearer token: send the coordinator's API token as 'Authorization: Bearer <token>'");
      return;
    }
    String expected = token.get();
    if (expected == null || expected.isBlank() || !matches(presented, expected)) {
      ApiServer.unauthorized(ctx, "Bearer realm=\"pgfleet\", error=\"invalid_token\"",
          "invalid bearer token: use the token configured for this coordinator's API");
      return;
    }
    ctx.next();
  }

  /** The credentials of a {@code Bearer} header (scheme case-insensitive, RFC 9110), or null. */
  static String presentedToken(String header) {
    if (header == null) {
      return null;
    }
    String h = header.strip();
    int space = h.indexOf(' ');
    if (space <= 0 || !h.substring(0, space).equalsIgnoreCase(SCHEME)) {
      return null;
    }
    String credentials = h.substring(space + 1).strip();
    return credentials.isEmpty() ? null : credentials;
  }

  /**
   * Constant-time comparison: since JDK 17 {@link MessageDigest#isEqual} takes time that depends only on the length
   * of its first argument, so the presented token goes first and the expected one's length does not leak.
   */
  static boolean matches(String presented, String expected) {
    return MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
  }
}
