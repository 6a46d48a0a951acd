package io.pgfleet.common.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FileSystemStorageTest {
  @TempDir Path tmp;
  private Path rootDir;
  private FileSystemStorage storage;

  @BeforeEach
  void setUp() throws IOException {
    rootDir = tmp.resolve("repo");
    storage = FileSystemStorage.open(rootDir);
  }

  private byte[] read(String key) throws IOException {
    try (InputStream in = storage.open(key)) {
      return in.readAllBytes();
    }
  }

  private void put(String key, String content) throws IOException {
    try (ObjectWriter w = storage.create(key)) {
      w.write(content.getBytes(StandardCharsets.UTF_8));
      w.commit();
    }
  }

  /** Every regular file under the repository, relative and '/'-separated (temp files included). */
  private List<String> filesOnDisk() throws IOException {
    try (Stream<Path> s = Files.walk(rootDir)) {
      return s.filter(Files::isRegularFile).map(p -> rootDir.relativize(p).toString().replace('\\', '/'))
          .sorted().collect(Collectors.toList());
    }
  }

  private List<String> keys(String prefix) throws IOException {
    return storage.list(prefix).stream().map(ObjectInfo::key).collect(Collectors.toList());
  }

  @Test
  void openCreatesTheDirectoryAndRootIsAbsolute() throws IOException {
    assertThat(rootDir).isDirectory();
    assertThat(storage.root()).isAbsolute().isEqualTo(rootDir.toAbsolutePath().normalize());
    assertThat(storage.describe()).isEqualTo(storage.root().toString());
    storage.checkWritable();
    assertThat(filesOnDisk()).isEmpty();
  }

  @Test
  void createAndCommitMakesTheObjectVisibleWithTheExactBytes() throws IOException {
    byte[] data = new byte[200_003]; // larger than the writer's 64 KiB buffer
    new Random(9).nextBytes(data);
    String key = "c/d/20240102T030405Z-abcdef/data/00001.copy.zst";
    try (ObjectWriter w = storage.create(key)) {
      w.write(data[0]);
      w.write(data, 1, 70_000);
      w.write(data, 70_001, data.length - 70_001);
      assertThat(storage.stat(key)).isEmpty();
      assertThat(storage.list("")).isEmpty();
      assertThatThrownBy(() -> storage.open(key)).isInstanceOf(StorageException.class);
      w.commit();
    }
    assertThat(read(key)).isEqualTo(data);
    Optional<ObjectInfo> info = storage.stat(key);
    assertThat(info).isPresent();
    assertThat(info.get().key()).isEqualTo(key);
    assertThat(info.get().size()).isEqualTo(data.length);
    assertThat(keys("")).containsExactly(key);
    assertThat(filesOnDisk()).containsExactly(key);
  }

  @Test
  void emptyObjectCanBeCommitted() throws IOException {
    try (ObjectWriter w = storage.create("empty")) {
      w.commit();
    }
    assertThat(read("empty")).isEmpty();
    assertThat(storage.stat("empty")).get().extracting(ObjectInfo::size).isEqualTo(0L);
  }

  @Test
  void closeWithoutCommitLeavesNothing() throws IOException {
    String key = "c/d/b/data/00002.copy.zst";
    try (ObjectWriter w = storage.create(key)) {
      w.write(new byte[100_000]);
      // while writing, the temporary file must not show up as an object
      assertThat(storage.list("")).isEmpty();
      assertThat(storage.list("c/d/b/data/")).isEmpty();
    }
    assertThat(storage.stat(key)).isEmpty();
    assertThat(storage.list("")).isEmpty();
    assertThat(filesOnDisk()).isEmpty();
  }

  @Test
  void closeWithoutCommitKeepsAPreviousObject() throws IOException {
    put("k", "old");
    try (ObjectWriter w = storage.create("k")) {
      w.write("new".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(read("k")).asString(StandardCharsets.UTF_8).isEqualTo("old");
    assertThat(filesOnDisk()).containsExactly("k");
  }

  @Test
  void commitReplacesAnExistingObject() throws IOException {
    put("a/obj", "first version, longer than the second");
    try (ObjectWriter w = storage.create("a/obj")) {
      w.write("second".getBytes(StandardCharsets.UTF_8));
      // the old object stays readable until the commit
      assertThat(read("a/obj")).asString(StandardCharsets.UTF_8).isEqualTo("first version, longer than the second");
      w.commit();
    }
    assertThat(read("a/obj")).asString(StandardCharsets.UTF_8).isEqualTo("second");
    assertThat(filesOnDisk()).containsExactly("a/obj");
  }

  @Test
  void createIfAbsentReturnsTrueThenFalseAndKeepsTheFirstContent() throws IOException {
    String key = "c/d/b/manifest.json";
    assertThat(storage.createIfAbsent(key, "first".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(storage.createIfAbsent(key, "second".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(read(key)).asString(StandardCharsets.UTF_8).isEqualTo("first");
    assertThat(filesOnDisk()).containsExactly(key);
  }

  @Test
  void createIfAbsentDoesNotReplaceAnObjectWrittenWithCreate() throws IOException {
    put("m", "committed");
    assertThat(storage.createIfAbsent("m", "late".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(read("m")).asString(StandardCharsets.UTF_8).isEqualTo("committed");
  }

  @Test
  void createIfAbsentRaceHasExactlyOneWinnerWhoseContentIsStored() throws Exception {
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < 25; round++) {
        String key = "race/" + round + "/manifest.json";
        CyclicBarrier barrier = new CyclicBarrier(threads);
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          byte[] content = ("writer-" + i + "-" + "x".repeat(i * 1000)).getBytes(StandardCharsets.UTF_8);
          Callable<Boolean> task = () -> {
            barrier.await(10, TimeUnit.SECONDS);
            return storage.createIfAbsent(key, content);
          };
          results.add(pool.submit(task));
        }
        List<Integer> winners = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          if (results.get(i).get(30, TimeUnit.SECONDS)) {
            winners.add(i);
          }
        }
        assertThat(winners).as("round %d", round).hasSize(1);
        int w = winners.get(0);
        assertThat(read(key)).asString(StandardCharsets.UTF_8)
            .isEqualTo("writer-" + w + "-" + "x".repeat(w * 1000));
      }
    } finally {
      pool.shutdownNow();
    }
    // no temporary files are left behind by losers or winners
    assertThat(filesOnDisk()).hasSize(25).allMatch(k -> k.endsWith("/manifest.json"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"..", "../x", "../../etc/passwd", "a/../../x", "a/..", "/etc/passwd", "/abs/key",
      "a\\b", "..\\x", "C:\\x", "", "a\0b", ".", "./"})
  void unsafeKeysAreRejected(String key) {
    assertThatThrownBy(() -> storage.create(key)).isInstanceOf(StorageException.class);
    assertThatThrownBy(() -> storage.createIfAbsent(key, new byte[] {1})).isInstanceOf(StorageException.class);
    assertThatThrownBy(() -> storage.open(key)).isInstanceOf(StorageException.class);
    assertThatThrownBy(() -> storage.stat(key)).isInstanceOf(StorageException.class);
    assertThatThrownBy(() -> storage.delete(key)).isInstanceOf(StorageException.class);
    assertThat(tmp.resolve("x")).doesNotExist();
    assertThat(tmp.resolve("b")).doesNotExist();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a/../b", "a/./b", "a//b", "a/b/"})
  void nonCanonicalKeysAreRejected(String key) {
    assertThatThrownBy(() -> storage.createIfAbsent(key, new byte[] {1})).isInstanceOf(StorageException.class);
  }

  @Test
  void escapingKeyMessageNamesTheKey() {
    Throwable t = catchThrowable(() -> storage.create("../outside"));
    assertThat(t).isInstanceOf(StorageException.class).hasMessageContaining("../outside");
    Throwable abs = catchThrowable(() -> storage.create("/etc/passwd"));
    assertThat(abs).isInstanceOf(StorageException.class).hasMessageContaining("/etc/passwd");
  }

  @Test
  void listReturnsSortedKeysFilteredByPrefix() throws IOException {
    for (String k : List.of("b/2", "a/x/1", "a/b/3", "a/bc/4", "a/b/1", "ab/5", "a/b/sub/6", "z")) {
      put(k, k);
    }
    assertThat(keys("")).containsExactly("a/b/1", "a/b/3", "a/b/sub/6", "a/bc/4", "a/x/1", "ab/5", "b/2", "z");
    assertThat(keys("a/")).containsExactly("a/b/1", "a/b/3", "a/b/sub/6", "a/bc/4", "a/x/1");
    assertThat(keys("a/b/")).containsExactly("a/b/1", "a/b/3", "a/b/sub/6");
    assertThat(keys("a/b")).containsExactly("a/b/1", "a/b/3", "a/b/sub/6", "a/bc/4");
    assertThat(keys("a")).containsExactly("a/b/1", "a/b/3", "a/b/sub/6", "a/bc/4", "a/x/1", "ab/5");
    assertThat(keys("a/b/1")).containsExactly("a/b/1");
    assertThat(keys("missing/")).isEmpty();
    assertThat(keys("q")).isEmpty();
    List<ObjectInfo> infos = storage.list("a/b/");
    assertThat(infos).extracting(ObjectInfo::size).containsExactly(5L, 5L, 9L);
  }

  @Test
  void deleteRemovesTheObjectAndEmptyParentDirectories() throws IOException {
    put("c/d/b1/data/00001.copy.zst", "x");
    put("c/d/b2/manifest.json", "y");
    storage.delete("c/d/b1/data/00001.copy.zst");
    assertThat(storage.stat("c/d/b1/data/00001.copy.zst")).isEmpty();
    assertThat(rootDir.resolve("c/d/b1")).doesNotExist();
    assertThat(rootDir.resolve("c/d")).isDirectory(); // still holds b2
    storage.delete("c/d/b2/manifest.json");
    assertThat(rootDir.resolve("c")).doesNotExist();
    assertThat(rootDir).isDirectory(); // the root itself stays
    assertThat(storage.list("")).isEmpty();
  }

  @Test
  void deleteOfAMissingKeyIsANoOp() throws IOException {
    put("a/keep", "k");
    storage.delete("a/missing");
    storage.delete("nowhere/at/all");
    assertThat(keys("")).containsExactly("a/keep");
  }

  @Test
  void openOfAMissingKeyThrowsNamingTheKey() {
    String key = "c/d/20240102T030405Z-abcdef/manifest.json";
    Throwable t = catchThrowable(() -> storage.open(key));
    assertThat(t).isInstanceOf(StorageException.class).hasMessageContaining(key).hasMessageContaining("missing");
  }

  @Test
  void openFailsClearlyWhenAParentIsARegularFile() throws IOException {
    Path file = tmp.resolve("not-a-dir");
    Files.writeString(file, "x");
    Path repo = file.resolve("repo");
    Throwable t = catchThrowable(() -> FileSystemStorage.open(repo));
    assertThat(t).isInstanceOf(StorageException.class)
        .hasMessageContaining(repo.toAbsolutePath().normalize().toString())
        .hasMessageContaining("--repo");
    Throwable deeper = catchThrowable(() -> FileSystemStorage.open(file.resolve("a/b/c")));
    assertThat(deeper).isInstanceOf(StorageException.class)
        .hasMessageContaining(file.resolve("a/b/c").toAbsolutePath().normalize().toString())
        .hasMessageContaining("--repo");
  }

  @Test
  void openFailsClearlyWhenTheRootIsARegularFile() throws IOException {
    Path file = tmp.resolve("plain-file");
    Files.writeString(file, "x");
    Throwable t = catchThrowable(() -> FileSystemStorage.open(file));
    assertThat(t).isInstanceOf(StorageException.class)
        .hasMessageContaining(file.toAbsolutePath().normalize().toString())
        .hasMessageContaining("not a directory")
        .hasMessageContaining("--repo");
  }

  @Test
  void openExistingOnAMissingDirectoryFailsClearly() {
    Path missing = tmp.resolve("no-such-repo");
    Throwable t = catchThrowable(() -> FileSystemStorage.openExisting(missing));
    assertThat(t).isInstanceOf(StorageException.class)
        .hasMessageContaining(missing.toAbsolutePath().normalize().toString())
        .hasMessageContaining("does not exist")
        .hasMessageContaining("--repo");
    assertThat(missing).doesNotExist();
  }

  @Test
  void openExistingSeesObjectsWrittenEarlier() throws IOException {
    put("c/d/b/manifest.json", "{}");
    FileSystemStorage again = FileSystemStorage.openExisting(rootDir);
    assertThat(again.list("").stream().map(ObjectInfo::key)).containsExactly("c/d/b/manifest.json");
    try (InputStream in = again.open("c/d/b/manifest.json")) {
      assertThat(in.readAllBytes()).asString(StandardCharsets.UTF_8).isEqualTo("{}");
    }
  }

  @Test
  void keysWithUnicodeAndPercentSegmentsWork() throws IOException {
    String key = "prod%20eu/%C3%9Cn/20240102T030405Z-abcdef/manifest.json";
    put(key, "m");
    assertThat(keys("prod%20eu/")).containsExactly(key);
    assertThat(read(key)).asString(StandardCharsets.UTF_8).isEqualTo("m");
  }
}
