package io.pgfleet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.config.FleetConfigLoader;
import io.pgfleet.common.metrics.MetricNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The deploy files (deploy/, docker-compose.yml) agree with the code: they parse, their PromQL uses only metrics
 * the code exports, their ports are the code's defaults, they run the Dockerfile's image, and their fleet
 * configurations load. No Docker engine is needed: this is the part of the deploy files CI can check.
 */
class DeployConsistencyTest {
  @Test
  void deployFilesAgreeWithTheCode() {
    DeployChecker.Report report = new DeployChecker(expectations()).checkTree(repositoryRoot());

    assertThat(report.problems()).as("problems in the deploy files:\n  %s",
        String.join("\n  ", report.problems())).isEmpty();
    // Guard against a check that silently read nothing (a moved directory, a renamed file).
    assertThat(report.files()).contains("docker-compose.yml", "deploy/prometheus/alerts.yaml",
        "deploy/grafana/pgfleet.json", "deploy/kubernetes/configmap.yaml", "deploy/compose/fleet.yaml");
    assertThat(report.fleetConfigs()).as("fleet configurations loaded").isEqualTo(2);
    assertThat(report.metricsUsed()).contains("pgfleet_backup_last_success_timestamp_seconds",
        "pgfleet_restore_test_last_success", "pgfleet_runs_total", "pgfleet_workers_live",
        "pgfleet_coordinator_leader", "pgfleet_tasks_queue_depth", "pgfleet_worker_bytes_total",
        "pgfleet_alerts_sent_total");
  }

  static DeployChecker.Expectations expectations() {
    Map<String, String> types = MetricNames.ALL.stream()
        .collect(Collectors.toMap(MetricNames.Metric::prometheus, MetricNames.Metric::type));
    // The defaults as the loader applies them to a configuration that sets neither port.
    FleetConfig defaults = FleetConfigLoader.parse("repository: {url: /tmp/r}\nclusters: [{name: c, host: h, user: u}]\n",
        Path.of("."));
    return new DeployChecker.Expectations(types, defaults.coordinator().http().port(), defaults.worker().metricsPort());
  }

  /** The repository root: the test runs in cli/, the root holds docker-compose.yml and deploy/. */
  static Path repositoryRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("deploy")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    throw new AssertionError("no deploy/ directory next to a pom.xml above " + Path.of("").toAbsolutePath());
  }
}
