package io.pgfleet.cli.standalone;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A single-node KRaft Kafka broker inside this JVM, with its log in a temporary directory removed on close: the
 * standalone mode's broker, so one command backs up a database through the same topics a fleet uses.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private final KafkaClusterTestKit cluster;

  private EmbeddedKafka(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  public static EmbeddedKafka start() throws Exception {
    Path dir = Files.createTempDirectory("pgfleet-kafka-");
    KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
        .setBaseDirectory(dir)
        .setNumBrokerNodes(1)
        .setNumControllerNodes(1)
        .setCombined(true)
        .build())
        .setConfigProp("offsets.topic.replication.factor", "1")
        .setConfigProp("offsets.topic.num.partitions", "4")
        .setConfigProp("transaction.state.log.replication.factor", "1")
        .setConfigProp("transaction.state.log.min.isr", "1")
        .setConfigProp("group.initial.rebalance.delay.ms", "0")
        .setConfigProp("auto.create.topics.enable", "false")
        .setDeleteOnClose(true)
        .build();
    startQuietly(cluster);
    return new EmbeddedKafka(cluster);
  }

  /**
   * Formats and starts a test-kit cluster and waits for its brokers; closes it if that fails. The storage formatter
   * prints to System.out, which is the CLI's result channel (the backup id): it is muted meanwhile.
   */
  public static void startQuietly(KafkaClusterTestKit cluster) throws Exception {
    java.io.PrintStream stdout = System.out;
    System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
    try {
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
    } catch (Exception e) {
      cluster.close();
      throw e;
    } finally {
      System.setOut(stdout);
    }
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  @Override
  public void close() throws Exception {
    cluster.close();
  }
}
