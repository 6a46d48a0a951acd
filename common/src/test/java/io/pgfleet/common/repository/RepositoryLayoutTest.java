package io.pgfleet.common.repository;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RepositoryLayoutTest {
  private static final List<String> TRICKY = List.of(
      "../x", "a/b", ".", "..", "Ünïcode", "a b", "A", "a", "%41", "", "%", "%25", "/", "\\", "...", "a.b",
      "x%2Fy", "x/y", "日本", "a\0b", "-", "_", "+", "a+b", "~");

  @Test
  void segmentNeverYieldsSlashDotDotDotOrEmpty() {
    for (String name : TRICKY) {
      String s = RepositoryLayout.segment(name);
      assertThat(s).as("segment(%s)", name)
          .isNotEmpty()
          .isNotEqualTo(".")
          .isNotEqualTo("..")
          .doesNotContain("/")
          .doesNotContain("\\")
          .doesNotContain(".")
          .matches("[A-Za-z0-9_%-]+");
    }
  }

  @Test
  void segmentIsInjectiveOnTrickyNames() {
    Map<String, String> seen = new HashMap<>();
    for (String name : TRICKY) {
      String s = RepositoryLayout.segment(name);
      String previous = seen.put(s, name);
      assertThat(previous).as("segment(%s) == segment(%s) == %s", name, previous, s).isNull();
    }
    assertThat(seen).hasSize(TRICKY.size());
  }

  @Test
  void segmentKeepsSafeNamesAndEncodesTheRest() {
    assertThat(RepositoryLayout.segment("prod-eu_1")).isEqualTo("prod-eu_1");
    assertThat(RepositoryLayout.segment("A")).isEqualTo("A");
    assertThat(RepositoryLayout.segment("a")).isEqualTo("a");
    assertThat(RepositoryLayout.segment("%41")).isEqualTo("%2541");
    assertThat(RepositoryLayout.segment("..")).isEqualTo("%2E%2E");
    assertThat(RepositoryLayout.segment("../x")).isEqualTo("%2E%2E%2Fx");
    assertThat(RepositoryLayout.segment("a b")).isEqualTo("a%20b");
    assertThat(RepositoryLayout.segment("Ü")).isEqualTo("%C3%9C");
  }

  @Test
  void segmentIsReversibleForNonEmptyNames() {
    for (String name : TRICKY) {
      if (name.isEmpty()) {
        continue;
      }
      String s = RepositoryLayout.segment(name);
      assertThat(URLDecoder.decode(s, StandardCharsets.UTF_8)).as("decode(segment(%s))", name).isEqualTo(name);
    }
  }

  @Test
  void keysForTrickyNamesStayInsideTheirFolders() {
    String id = RepositoryLayout.newBackupId(Instant.parse("2024-03-04T05:06:07Z"));
    for (String cluster : TRICKY) {
      for (String db : List.of("../x", "..", ".", "a/b", "")) {
        String key = RepositoryLayout.manifestKey(cluster, db, id);
        String[] parts = key.split("/", -1);
        assertThat(parts).as(key).hasSize(4);
        assertThat(parts[0]).isEqualTo(RepositoryLayout.segment(cluster));
        assertThat(parts[1]).isEqualTo(RepositoryLayout.segment(db));
        assertThat(parts[2]).isEqualTo(id);
        assertThat(parts[3]).isEqualTo(RepositoryLayout.MANIFEST);
        for (String p : parts) {
          assertThat(p).isNotEmpty().isNotEqualTo(".").isNotEqualTo("..");
        }
      }
    }
  }

  @Test
  void backupIdsMatchIsBackupIdAndEncodeUtcTime() {
    Instant at = Instant.parse("2024-01-02T03:04:05.987Z");
    String id = RepositoryLayout.newBackupId(at);
    assertThat(id).startsWith("20240102T030405Z-").hasSize(23);
    assertThat(RepositoryLayout.isBackupId(id)).isTrue();
    for (int i = 0; i < 200; i++) {
      assertThat(RepositoryLayout.isBackupId(RepositoryLayout.newBackupId(Instant.now()))).isTrue();
    }
  }

  @Test
  void isBackupIdRejectsOtherStrings() {
    assertThat(RepositoryLayout.isBackupId(null)).isFalse();
    assertThat(RepositoryLayout.isBackupId("")).isFalse();
    assertThat(RepositoryLayout.isBackupId("20240102T030405Z")).isFalse();
    assertThat(RepositoryLayout.isBackupId("20240102T030405Z-ABCDEF")).isFalse();
    assertThat(RepositoryLayout.isBackupId("20240102T030405Z-abcde")).isFalse();
    assertThat(RepositoryLayout.isBackupId("20240102T030405Z-abcdef0")).isFalse();
    assertThat(RepositoryLayout.isBackupId("../20240102T030405Z-abcdef")).isFalse();
    assertThat(RepositoryLayout.isBackupId("20240102T030405Z-abcdef/")).isFalse();
    assertThat(RepositoryLayout.isBackupId("20240102T030405Z-abcdef")).isTrue();
  }

  @Test
  void backupIdsSortLexicographicallyByTime() {
    Random rnd = new Random(3);
    Instant t = Instant.parse("2019-12-31T23:59:58Z");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      ids.add(RepositoryLayout.newBackupId(t));
      // at least one second later: ids only have second resolution
      t = t.plus(Duration.ofMillis(1000 + (long) rnd.nextInt(i % 7 == 0 ? 400_000_000 : 5_000)));
    }
    List<String> sorted = new ArrayList<>(ids);
    sorted.sort(null);
    assertThat(sorted).containsExactlyElementsOf(ids);
  }

  @Test
  void idsInTheSameSecondDiffer() {
    Instant at = Instant.parse("2024-01-02T03:04:05Z");
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < 50; i++) {
      ids.add(RepositoryLayout.newBackupId(at));
    }
    // 24 random bits: 50 ids all colliding into fewer than 45 would be astronomically unlikely.
    assertThat(ids).hasSizeGreaterThan(45);
  }

  @Test
  void keysAreUnderTheBackupPrefix() {
    String id = "20240102T030405Z-abcdef";
    String prefix = RepositoryLayout.backupPrefix("prod eu", "sales", id);
    assertThat(prefix).isEqualTo("prod%20eu/sales/" + id + "/");
    assertThat(RepositoryLayout.manifestKey("prod eu", "sales", id)).isEqualTo(prefix + "manifest.json");
    assertThat(RepositoryLayout.schemaKey("prod eu", "sales", id)).isEqualTo(prefix + "schema.dump");
    assertThat(RepositoryLayout.restoreGuideKey("prod eu", "sales", id)).isEqualTo(prefix + "RESTORE.md");
    assertThat(RepositoryLayout.dataKey("prod eu", "sales", id, 7)).isEqualTo(prefix + "data/00007.copy.zst");
    assertThat(RepositoryLayout.dataKey("prod eu", "sales", id, 123456)).isEqualTo(prefix + "data/123456.copy.zst");
  }

  @Test
  void dataKeyAndRelativeToBackupRoundTrip() {
    String id = RepositoryLayout.newBackupId(Instant.parse("2024-06-01T00:00:00Z"));
    for (String cluster : TRICKY) {
      for (int n : new int[] {0, 1, 42, 99_999}) {
        String key = RepositoryLayout.dataKey(cluster, "../x", id, n);
        String rel = RepositoryLayout.relativeToBackup(key);
        assertThat(rel).isEqualTo(String.format("data/%05d.copy.zst", n));
        assertThat(RepositoryLayout.backupPrefix(cluster, "../x", id) + rel).isEqualTo(key);
      }
      assertThat(RepositoryLayout.relativeToBackup(RepositoryLayout.manifestKey(cluster, "d", id)))
          .isEqualTo(RepositoryLayout.MANIFEST);
      assertThat(RepositoryLayout.relativeToBackup(RepositoryLayout.schemaKey(cluster, "d", id)))
          .isEqualTo(RepositoryLayout.SCHEMA);
    }
  }
}
