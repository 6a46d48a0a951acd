package io.pgfleet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checker behind DeployConsistencyTest reports broken input, naming the file and what is wrong. */
class DeployCheckerTest {
  private static final DeployChecker.Expectations EXPECTED = new DeployChecker.Expectations(
      Map.of("pgfleet_runs_total", "counter", "pgfleet_coordinator_leader", "gauge",
          "pgfleet_request_seconds", "histogram"), 8080, 9400);

  private static List<String> problems(String file, String text) {
    return new DeployChecker(EXPECTED).checkFile(file, text).report().problems();
  }

  @Test
  void aMisspeltMetricInAnAlertRuleIsReportedWithTheFileAndTheName() {
    String rules = """
        groups:
          - name: g
            rules:
              - alert: Leaderless
                expr: max(pgfleet_coordinator_leader) == 0
              - alert: Failing
                expr: increase(pgfleet_run_total{outcome="failed"}[1h]) > 0
        """;

    assertThat(problems("deploy/prometheus/alerts.yaml", rules)).singleElement().asString()
        .startsWith("deploy/prometheus/alerts.yaml: ")
        .contains("Failing", "pgfleet_run_total", "MetricNames.ALL");
  }

  @Test
  void histogramSuffixesOnlyForHistograms() {
    String rules = """
        groups:
          - name: g
            rules:
              - record: a
                expr: rate(pgfleet_request_seconds_bucket[5m])
              - record: b
                expr: rate(pgfleet_runs_total_bucket[5m])
        """;

    assertThat(problems("r.yaml", rules)).singleElement().asString().contains("pgfleet_runs_total_bucket");
  }

  @Test
  void anUnparseableYamlIsReported() {
    assertThat(problems("deploy/kubernetes/broken.yaml", "kind: Service\nspec: [unclosed\n"))
        .singleElement().asString().startsWith("deploy/kubernetes/broken.yaml: invalid YAML");
  }

  @Test
  void anUnparseableSecondDocumentIsReported() {
    assertThat(problems("two.yaml", "kind: A\n---\nkey: : :\n  - x\n")).singleElement().asString()
        .startsWith("two.yaml: invalid YAML");
  }

  @Test
  void dashboardQueriesAreChecked() {
    String board = """
        {"panels": [{"title": "t", "targets": [{"expr": "sum(rate(pgfleet_worker_byte_total[5m]))"}]}]}
        """;

    assertThat(problems("deploy/grafana/board.json", board)).singleElement().asString()
        .contains("deploy/grafana/board.json", "panels[0].targets[0].expr", "pgfleet_worker_byte_total");
  }

  @Test
  void aScrapeTargetOffTheWorkerMetricsPortIsReported() {
    String prometheus = """
        scrape_configs:
          - job_name: pgfleet-worker
            static_configs: [{targets: ["worker-1:9100"]}]
        """;

    assertThat(problems("deploy/prometheus/prometheus.yml", prometheus)).singleElement().asString()
        .contains("worker-1:9100", "9400");
  }

  @Test
  void aFleetConfigurationWithAnInlinePasswordIsReported() {
    String fleet = """
        repository: {url: gs://b/p}
        clusters: [{name: c, host: h, user: u, password: hunter2}]
        """;

    assertThat(problems("deploy/compose/fleet.yaml", fleet)).singleElement().asString()
        .startsWith("deploy/compose/fleet.yaml: FleetConfigLoader refuses it: clusters[0].password");
  }
}
