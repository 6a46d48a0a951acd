package io.pgfleet.cli.fleet;

import io.pgfleet.common.config.ConfigException;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.config.FleetConfigLoader;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.kafka.KafkaSettings;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.pg.ClusterDirectory;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.ResilientStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What every fleet process builds from the configuration file: Kafka settings, the cluster directory (passwords
 * resolved from their references now, so a missing variable stops the process at start), the master key, the
 * client tools. Secrets stay in these objects; nothing here logs them.
 */
public final class FleetSetup {
  private FleetSetup() {}

  public static FleetConfig load(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ConfigException("configuration file " + file + " does not exist or is not a file: give the path of"
          + " the fleet's YAML configuration (docs/configuration.md)");
    }
    return FleetConfigLoader.load(file);
  }

  /** The external Kafka of the configuration; null when it names none (the embedded broker). */
  public static KafkaSettings kafka(FleetConfig c) {
    if (c.kafka() == null || c.kafka().bootstrapServers() == null) {
      return null;
    }
    return kafka(c, c.kafka().bootstrapServers());
  }

  public static KafkaSettings kafka(FleetConfig c, String bootstrapServers) {
    Map<String, String> extra = new HashMap<>();
    if (c.kafka() != null) {
      extra.putAll(c.kafka().properties());
      c.kafka().secretProperties().forEach((k, ref) -> extra.put(k, resolve(ref, "kafka.secretProperties." + k)));
    }
    return new KafkaSettings(bootstrapServers, extra);
  }

  public static Topics.Layout topics(FleetConfig c) {
    int partitions = c.kafka() == null ? 48 : c.kafka().taskPartitions();
    short replication = c.kafka() == null ? 1 : c.kafka().replication();
    return new Topics.Layout(partitions, 4, replication);
  }

  public static ClusterDirectory clusters(FleetConfig c) {
    Map<String, PgConnectionInfo> m = new LinkedHashMap<>();
    for (int i = 0; i < c.clusters().size(); i++) {
      FleetConfig.Cluster cl = c.clusters().get(i);
      String password = cl.password() == null ? null : resolve(cl.password(), "clusters[" + i + "].password");
      m.put(cl.name(), new PgConnectionInfo(cl.host(), cl.port(), cl.user(), password, "postgres",
          cl.tlsParameters()));
    }
    return new ClusterDirectory(m);
  }

  public static MasterKey encryptionKey(FleetConfig c) {
    if (c.repository().encryptionKey() == null) {
      return null;
    }
    String text = resolve(c.repository().encryptionKey(), "repository.encryptionKey");
    try {
      return MasterKey.parse(text, c.repository().encryptionKey().describe());
    } catch (MasterKey.InvalidKeyException e) {
      throw new ConfigException("repository.encryptionKey: " + e.getMessage());
    }
  }

  /** The repository's retry and circuit-breaker settings ({@code repository.retry}, {@code repository.circuit}). */
  public static ResilientStorage.Settings resilience(FleetConfig c) {
    return c.repository() == null || c.repository().resilience() == null ? ResilientStorage.Settings.DEFAULT
        : c.repository().resilience();
  }

  public static PgTools tools(FleetConfig c) {
    if (c.pgBinDirs().isEmpty()) {
      return PgTools.fromEnvironment();
    }
    return new PgTools(c.pgBinDirs());
  }

  private static String resolve(FleetConfig.SecretRef ref, String path) {
    try {
      return ref.resolve();
    } catch (ConfigException e) {
      throw new ConfigException(path + ": " + e.getMessage());
    }
  }
}
