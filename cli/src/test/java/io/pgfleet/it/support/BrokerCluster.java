package io.pgfleet.it.support;

import io.pgfleet.cli.standalone.EmbeddedKafka;
import java.nio.file.Files;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import kafka.server.BrokerServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A three-broker KRaft cluster in this JVM (one controller apart, brokers 0, 1 and 2), with the replication a
 * production cluster has: internal topics on three replicas, {@code min.insync.replicas} 2, so one broker may be
 * down while producers with {@code acks=all} keep writing. A broker can be stopped and started again.
 */
public final class BrokerCluster implements AutoCloseable {
  private final KafkaClusterTestKit cluster;

  private BrokerCluster(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  public static BrokerCluster start() throws Exception {
    KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
        .setBaseDirectory(Files.createTempDirectory("pgfleet-kafka3-"))
        .setCombined(false)
        .setNumControllerNodes(1)
        .setNumBrokerNodes(3)
        .build())
        .setConfigProp("offsets.topic.replication.factor", "3")
        .setConfigProp("offsets.topic.num.partitions", "6")
        .setConfigProp("transaction.state.log.replication.factor", "3")
        .setConfigProp("transaction.state.log.min.isr", "2")
        .setConfigProp("min.insync.replicas", "2")
        .setConfigProp("default.replication.factor", "3")
        .setConfigProp("group.initial.rebalance.delay.ms", "0")
        .setConfigProp("auto.create.topics.enable", "false")
        .setDeleteOnClose(true)
        .build();
    EmbeddedKafka.startQuietly(cluster);
    return new BrokerCluster(cluster);
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  public Set<Integer> brokerIds() {
    return cluster.brokers().keySet();
  }

  /** An admin client on the cluster; the caller closes it. */
  public Admin admin() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers());
    return Admin.create(p);
  }

  public Map<String, TopicDescription> describe(String... topics) throws Exception {
    try (Admin admin = admin()) {
      return admin.describeTopics(java.util.List.of(topics)).allTopicNames().get(30, TimeUnit.SECONDS);
    }
  }

  /** Stops broker {@code id} (a controlled shutdown: its partitions' leadership moves to the others first). */
  public void stop(int id) {
    BrokerServer b = cluster.brokers().get(id);
    b.shutdown();
    b.awaitShutdown();
  }

  /** Starts broker {@code id} again, on its old log directory; it rejoins the replicas it had. */
  public void restart(int id) throws Exception {
    cluster.brokers().get(id).startup();
    cluster.waitForReadyBrokers();
  }

  @Override
  public void close() throws Exception {
    cluster.close();
  }
}
