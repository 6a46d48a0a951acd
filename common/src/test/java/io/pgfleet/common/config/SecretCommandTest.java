package io.pgfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretCommandTest {
  @TempDir
  Path dir;

  @Test
  void theProgramsStdoutIsTheSecret() {
    assertThat(SecretCommand.run(List.of("printf", "  s3cr3t-value\n"), Duration.ofSeconds(10)))
        .isEqualTo("s3cr3t-value");
    assertThat(SecretCommand.run(List.of("/bin/sh", "-c", "echo from-a-shell; echo noise >&2"),
        Duration.ofSeconds(10))).isEqualTo("from-a-shell");
  }

  @Test
  void aFailingProgramIsNamedWithItsExitStatusAndFirstErrorLineButNeverItsArguments() {
    assertThatThrownBy(() -> SecretCommand.run(List.of("/bin/sh", "-c",
        "echo partial-secret; echo 'AccessDenied: not allowed' >&2; exit 3"), Duration.ofSeconds(10)))
        .isInstanceOf(SecretCommand.FailedException.class)
        .hasMessage("secret command 'echo' exited with 3: AccessDenied: not allowed; run it by hand to see why");
    assertThatThrownBy(() -> SecretCommand.run(List.of("cat", "/etc/pgfleet/very-secret-path"),
        Duration.ofSeconds(10)))
        .hasMessageStartingWith("secret command 'cat' exited with 1")
        .hasMessageNotContaining("partial-secret");
  }

  @Test
  void noOutputAMissingProgramAndATimeoutAreClearErrors() {
    assertThatThrownBy(() -> SecretCommand.run(List.of("true"), Duration.ofSeconds(10)))
        .hasMessage("secret command 'true' printed nothing on stdout: it must print the secret");
    assertThatThrownBy(() -> SecretCommand.run(List.of(dir.resolve("no-such-kms").toString()),
        Duration.ofSeconds(10)))
        .hasMessageStartingWith("secret command 'no-such-kms' cannot be started")
        .hasMessageEndingWith("check the program's path and that it is executable");
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> SecretCommand.run(List.of("sleep", "30"), Duration.ofMillis(300)))
        .hasMessage("secret command 'sleep' did not finish within 0 s: check that it needs no input and can reach"
            + " its service");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void aConfiguredCommandResolvesThroughTheSecretReference() throws Exception {
    Path key = Files.writeString(dir.resolve("wrapped"), "the-password\n");
    FleetConfig c = FleetConfigLoader.parse("repository: {url: /x}\n"
        + "clusters:\n"
        + "  - name: a\n"
        + "    host: db1\n"
        + "    user: backup\n"
        + "    password: {command: [cat, " + key + "]}\n"
        + "  - name: b\n"
        + "    host: db2\n"
        + "    user: backup\n"
        + "    password: {command: 'cat " + key + " | tr a-z A-Z'}\n", dir);
    FleetConfig.SecretRef a = c.clusters().get(0).password();
    assertThat(a.command()).containsExactly("cat", key.toString());
    assertThat(a.describe()).isEqualTo("command 'cat'");
    assertThat(a.resolve()).isEqualTo("the-password");
    assertThat(c.clusters().get(1).password().resolve()).isEqualTo("THE-PASSWORD");
    FleetConfig.SecretRef broken = new FleetConfig.SecretRef(null, null, List.of("false"));
    assertThatThrownBy(broken::resolve).isInstanceOf(ConfigException.class)
        .hasMessage("secret command 'false' exited with 1; run it by hand to see why");
  }
}
