package io.pgfleet.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.cli.fleet.FleetProcess;
import io.pgfleet.cli.standalone.EmbeddedKafka;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.event.EventTypes;
import io.pgfleet.common.kafka.Topics;
import io.pgfleet.common.storage.FileSystemStorage;
import io.pgfleet.it.support.EventLog;
import io.pgfleet.it.support.OneDatabaseFleet;
import io.pgfleet.it.support.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages on the task topic that are not tasks (not JSON, an unknown kind, a task missing its fields) go to the
 * dead-letter topic with the reason, and the worker goes on: a backup asked for afterwards completes.
 */
class PoisonTaskIT {
  private static final TestPostgres PG = TestPostgres.get();

  @TempDir
  Path dir;

  @Test
  void poisonMessagesGoToTheDeadLetterTopicWithTheirReasonAndTheWorkerGoesOn() throws Exception {
    String db = PG.uniqueDbName("poison");
    PG.createDatabase(db);
    try (Connection c = PG.connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000)");
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(); EventLog events = new EventLog(kafka.bootstrapServers())) {
      FleetConfig config = OneDatabaseFleet.config(PG, dir, kafka.bootstrapServers(), dir.resolve("repo"), db,
          "coordinator: {http: {host: 127.0.0.1, port: 0}}\n"
          + "worker: {slots: 2, metricsPort: -1}\n");
      try (FleetProcess fleet = FleetProcess.start(config, FileSystemStorage.open(dir.resolve("repo")),
          OneDatabaseFleet.options(1, "poison-it"))) {
        Map<String, String> poison = Map.of(
            "not json", "{this is not json",
            "unknown kind", "{\"kind\": \"format-c\", \"header\": {\"taskId\": \"x/t1\"}}",
            "missing fields", "{\"kind\": \"table-data\"}");
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
          int partition = 0;
          for (String value : poison.values()) {
            producer.send(new ProducerRecord<>(Topics.TASKS, partition++ % 4, "main/" + db, value)).get();
          }
        }
        List<ConsumerRecord<String, String>> dead = readDeadLetters(kafka.bootstrapServers(), poison.size());
        assertThat(dead).extracting(ConsumerRecord::value).containsExactlyInAnyOrderElementsOf(poison.values());
        for (ConsumerRecord<String, String> r : dead) {
          String reason = new String(r.headers().lastHeader("pgfleet-dlq-reason").value(), StandardCharsets.UTF_8);
          assertThat(reason).as("reason for " + r.value()).isNotBlank().doesNotContain("\n");
          assertThat(r.headers().lastHeader("pgfleet-dlq-source")).isNotNull();
        }

        // The worker goes on.
        OneDatabaseFleet.awaitLeader(fleet);
        fleet.coordinator().backupNow("main", db).toCompletionStage().toCompletableFuture().get();
        events.await("the backup to complete", Duration.ofSeconds(60), evs -> evs.stream().anyMatch(e ->
            EventTypes.BACKUP_COMPLETED.equals(e.type()) && e.subject().equals("main/" + db)));
      }
    } finally {
      PG.dropDatabase(db);
    }
  }

  private static List<ConsumerRecord<String, String>> readDeadLetters(String bootstrap, int expected)
      throws InterruptedException {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      TopicPartition tp = new TopicPartition(Topics.DEAD_LETTER, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long deadline = System.currentTimeMillis() + 30_000;
      while (out.size() < expected && System.currentTimeMillis() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }
}
