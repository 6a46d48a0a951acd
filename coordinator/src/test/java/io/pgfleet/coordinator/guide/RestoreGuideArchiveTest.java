package io.pgfleet.coordinator.guide;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RestoreGuideArchiveTest {
  private static ArtifactEntry file(String key, String kind, char sha) {
    return new ArtifactEntry(key, kind, null, null, 0, 10, 10, String.valueOf(sha).repeat(64), null, null, "none",
        "none", "b/archive", null, 5L);
  }

  private static Manifest manifest(Manifest.Archive archive) {
    return new Manifest(Manifest.FORMAT_VERSION, "20240102T030405Z-abcdef", "run-1", "c1", "it's",
        new Manifest.SourceInfo("15.20", 150020, "00000003-0000001B-1", "0/16B3748", "UTF8", "C", "C", "postgres",
            null),
        Instant.parse("2024-01-02T03:04:05Z"), Instant.parse("2024-01-02T03:05:05Z"), "dev", List.of(), null,
        null, List.of(), "RESTORE.md", null, archive, null, null, null);
  }

  @Test
  void eachFormatGetsItsOneStandardCommandAfterTheChecksums() {
    String plain = RestoreGuide.renderArchive(manifest(new Manifest.Archive("plain", 1, List.of(), "archive.1a2b3c4d.sql",
        List.of(file("archive.1a2b3c4d.sql", "pg-dump-plain", 'a')))));
    assertThat(plain).contains("a".repeat(64) + "  archive.1a2b3c4d.sql\n", "export TARGET='it'\\''s_restored'",
        "createdb --template=template0 --encoding='UTF8' \"$TARGET\"",
        "psql -X -v ON_ERROR_STOP=1 -d \"$TARGET\" -f archive.1a2b3c4d.sql");
    assertThat(plain.indexOf("sha256sum -c")).isLessThan(plain.indexOf("createdb --template"));

    String custom = RestoreGuide.renderArchive(manifest(new Manifest.Archive("custom", 1,
        List.of("--schema=bank", "--table=app.o*"), "archive.1a2b3c4d.dump",
        List.of(file("archive.1a2b3c4d.dump", "pg-dump-custom", 'b')))));
    assertThat(custom).contains("pg_restore --exit-on-error -d \"$TARGET\" archive.1a2b3c4d.dump",
        "--schema=bank '--table=app.o*'");

    String dir = RestoreGuide.renderArchive(manifest(new Manifest.Archive("directory", 3, List.of("--data-only"),
        "archive.1a2b3c4d/", List.of(file("archive.1a2b3c4d/3344.dat.gz", "pg-dump-directory", 'c'),
            file("archive.1a2b3c4d/toc.dat", "pg-dump-directory", 'd')))));
    assertThat(dir).contains("c".repeat(64) + "  archive.1a2b3c4d/3344.dat.gz\n",
        "d".repeat(64) + "  archive.1a2b3c4d/toc.dat\n",
        "pg_restore --exit-on-error -j 3 -d \"$TARGET\" archive.1a2b3c4d/", "existing")
        .doesNotContain("createdb --template");
  }
}
