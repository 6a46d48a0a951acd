package io.pgfleet.common.pg;

import java.util.Map;

/**
 * Resolves a cluster name (what tasks and events carry) to a connection (what only the local process knows).
 * This indirection is what keeps credentials off Kafka.
 */
public final class ClusterDirectory {
  private final Map<String, PgConnectionInfo> clusters;

  public ClusterDirectory(Map<String, PgConnectionInfo> clusters) {
    this.clusters = Map.copyOf(clusters);
  }

  public PgConnectionInfo connection(String cluster, String database) {
    PgConnectionInfo c = clusters.get(cluster);
    if (c == null) {
      throw new IllegalArgumentException("cluster '" + cluster + "' is not configured on this process; known: "
          + String.join(", ", clusters.keySet()));
    }
    return c.withDatabase(database);
  }
}
