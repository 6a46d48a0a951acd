package io.pgfleet.common.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The choice of tool, with stand-in programs that only answer {@code --version}. */
class PgToolsTest {
  @TempDir
  Path tmp;

  @Test
  void picksTheSameOrClosestNewerMajor() throws Exception {
    Path v16 = fakePgDump("16", "16.4");
    Path v18 = fakePgDump("18", "18.6");
    PgTools tools = new PgTools(List.of(v18, v16), false);
    assertThat(tools.find("pg_dump", 150008)).isEqualTo(v16.resolve("pg_dump"));
    assertThat(tools.find("pg_dump", 160004)).isEqualTo(v16.resolve("pg_dump"));
    assertThat(tools.find("pg_dump", 170011)).isEqualTo(v18.resolve("pg_dump"));
  }

  @Test
  void tooOldAToolIsOneLineNamingServerFoundAndWhatToInstall() throws Exception {
    Path v15 = fakePgDump("15", "15.20");
    PgTools tools = new PgTools(List.of(v15), false);
    assertThatThrownBy(() -> tools.find("pg_dump", 170011))
        .isInstanceOf(PgTools.ToolNotFoundException.class)
        .hasMessage("no pg_dump for a PostgreSQL 17 server: found 15 (" + v15.resolve("pg_dump") + "); install the"
            + " PostgreSQL 17 client (e.g. postgresql-client-17) or list its bin directory in PGFLEET_PG_BIN_DIRS");
  }

  @Test
  void withoutDefaultLocationsNothingElseIsFound() {
    PgTools tools = new PgTools(List.of(tmp.resolve("empty")), false);
    assertThatThrownBy(() -> tools.find("pg_restore", 130023))
        .hasMessageStartingWith("no pg_restore for a PostgreSQL 13 server: found none;");
  }

  @Test
  void theSystemPropertyWinsOverTheEnvironment() throws Exception {
    Path v18 = fakePgDump("18", "18.6");
    System.setProperty(PgTools.DIRS_PROPERTY, v18.toString());
    System.setProperty(PgTools.DEFAULTS_PROPERTY, "false");
    try {
      assertThat(PgTools.fromEnvironment().find("pg_dump", 120022)).isEqualTo(v18.resolve("pg_dump"));
    } finally {
      System.clearProperty(PgTools.DIRS_PROPERTY);
      System.clearProperty(PgTools.DEFAULTS_PROPERTY);
    }
  }

  private Path fakePgDump(String dirName, String version) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(dirName));
    Path p = dir.resolve("pg_dump");
    Files.writeString(p, "#!/bin/sh\necho 'pg_dump (PostgreSQL) " + version + "'\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }
}
