package io.pgfleet.storage.s3;

import io.pgfleet.common.storage.StorageException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;

/**
 * Where the S3 API is and how to address buckets on it, read from the environment (never credentials: those come
 * only from the AWS SDK's default provider chain).
 *
 * <ul>
 *   <li>{@code PGFLEET_S3_ENDPOINT}: an S3-compatible server (MinIO, Ceph RGW, Cloudflare R2, Wasabi, Backblaze B2),
 *       e.g. {@code http://minio:9000}; unset means AWS S3.
 *   <li>{@code PGFLEET_S3_PATH_STYLE}: {@code true} addresses buckets as {@code endpoint/bucket/key} instead of
 *       {@code bucket.endpoint/key}; the default is true with an endpoint (what MinIO and Ceph expect) and false
 *       without one.
 *   <li>The region: {@code AWS_REGION} (or the {@code aws.region} system property) with an endpoint, else us-east-1,
 *       which S3-compatible servers accept; without an endpoint, the SDK's default region chain (environment,
 *       profile, instance metadata), else us-east-1 with cross-region access, so a bucket elsewhere is still found.
 * </ul>
 *
 * <p>Each variable has a system property of the same meaning that wins over it ({@code pgfleet.s3.endpoint},
 * {@code pgfleet.s3.path-style}): the CLI's ITs point the in-process CLI at the test's S3 server through them.
 */
public record S3Connection(Optional<URI> endpoint, boolean pathStyle, Region region) {
  public static final String ENDPOINT_ENV = "PGFLEET_S3_ENDPOINT";
  public static final String PATH_STYLE_ENV = "PGFLEET_S3_PATH_STYLE";
  public static final String ENDPOINT_PROPERTY = "pgfleet.s3.endpoint";
  public static final String PATH_STYLE_PROPERTY = "pgfleet.s3.path-style";

  /** AWS S3 in the region of the default chain, or an S3-compatible server at the endpoint. */
  public static S3Connection fromEnvironment() throws StorageException {
    String endpoint = setting(ENDPOINT_PROPERTY, ENDPOINT_ENV);
    URI uri = endpoint == null || endpoint.isBlank() ? null : parseEndpoint(endpoint.trim());
    String pathStyleSetting = setting(PATH_STYLE_PROPERTY, PATH_STYLE_ENV);
    boolean pathStyle = uri != null;
    if (pathStyleSetting != null && !pathStyleSetting.isBlank()) {
      pathStyle = switch (pathStyleSetting.trim().toLowerCase(Locale.ROOT)) {
        case "true", "1", "yes" -> true;
        case "false", "0", "no" -> false;
        default -> throw new StorageException(PATH_STYLE_ENV + "='" + pathStyleSetting + "' is not true or false");
      };
    }
    if (uri != null) {
      String region = setting("aws.region", "AWS_REGION");
      return new S3Connection(Optional.of(uri), pathStyle,
          Region.of(region == null || region.isBlank() ? "us-east-1" : region.trim()));
    }
    try {
      return new S3Connection(Optional.empty(), pathStyle, new DefaultAwsRegionProviderChain().getRegion());
    } catch (SdkClientException e) {
      return new S3Connection(Optional.empty(), pathStyle, Region.US_EAST_1);
    }
  }

  private static String setting(String property, String env) {
    String p = System.getProperty(property);
    return p != null ? p : System.getenv(env);
  }

  static URI parseEndpoint(String s) throws StorageException {
    if (s.contains("@")) {
      throw new StorageException(ENDPOINT_ENV + " holds '@' (credentials are never taken from it): give"
          + " http(s)://HOST:PORT and the credentials through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    try {
      URI uri = new URI(s);
      if (uri.getHost() == null || uri.getScheme() == null
          || !(uri.getScheme().equalsIgnoreCase("http") || uri.getScheme().equalsIgnoreCase("https"))) {
        throw new URISyntaxException(s, "not http(s)://HOST[:PORT]");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new StorageException(ENDPOINT_ENV + "='" + s + "' is not an http(s)://HOST[:PORT] URL of an"
          + " S3-compatible server");
    }
  }

  /** For messages: AWS S3 or the server's address. */
  String describe() {
    return endpoint.map(URI::toString).orElse("AWS S3 (" + region.id() + ")");
  }
}
