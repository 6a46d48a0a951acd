package io.pgfleet.common.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
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
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Storage} backend must have, as one suite: a backend's test extends this class and
 * hands it a fresh, empty storage per test. A backend that cannot run a case (a test double lacking a feature)
 * says so in {@link #cannotRun(Capability)}; the case is then skipped with that reason, never silently passed.
 *
 * <p>Shared with the backend modules through common's test-jar.
 */
public abstract class StorageContract {
  /** Features a case needs beyond plain reads and writes. */
  protected enum Capability {
    /** An atomic create-if-absent (GCS: the {@code doesNotExist} precondition). */
    PRECONDITIONS,
    /**
     * createIfAbsent stays atomic under concurrent writers (a test server may check the precondition and then write
     * without a lock, which passes the sequential cases but not the race).
     */
    ATOMIC_CONDITIONAL_CREATE,
    /** Nothing at all visible at a key while its writer is open and after it is closed uncommitted. */
    INVISIBLE_UNTIL_COMMIT,
    /** Listing more objects than one page of the backend's list call. */
    PAGING
  }

  protected Storage storage;

  /** A fresh storage with no objects in it (a new directory, bucket prefix, or in-memory service). */
  protected abstract Storage createStorage() throws Exception;

  /** Why this backend cannot run cases needing the capability, or empty when it can. */
  protected Optional<String> cannotRun(Capability capability) {
    return Optional.empty();
  }

  /** Objects written by the paging case: more than one list page of the backend under test. */
  protected int pagingKeyCount() {
    return 1200;
  }

  /** Rounds of the concurrent createIfAbsent race (each a fresh key contended by {@link #raceThreads()}). */
  protected int raceRounds() {
    return 10;
  }

  protected int raceThreads() {
    return 8;
  }

  /** Secrets this backend was configured with, none of which may appear in {@link Storage#describe()}. */
  protected List<String> configuredSecrets() {
    return List.of();
  }

  @BeforeEach
  void openStorage() throws Exception {
    storage = createStorage();
  }

  @AfterEach
  void closeStorage() throws IOException {
    if (storage != null) {
      storage.close();
    }
  }

  private void require(Capability c) {
    Optional<String> reason = cannotRun(c);
    assumeTrue(reason.isEmpty(), () -> getClass().getSimpleName() + " skips this case: " + reason.orElse(""));
  }

  protected byte[] read(String key) throws IOException {
    try (InputStream in = storage.open(key)) {
      return in.readAllBytes();
    }
  }

  protected byte[] read(String key, long offset) throws IOException {
    try (InputStream in = storage.open(key, offset)) {
      return in.readAllBytes();
    }
  }

  protected void put(String key, String content) throws IOException {
    put(key, content.getBytes(StandardCharsets.UTF_8));
  }

  protected void put(String key, byte[] content) throws IOException {
    try (ObjectWriter w = storage.create(key)) {
      w.write(content);
      w.commit();
    }
  }

  private List<String> keys(String prefix) throws IOException {
    return storage.list(prefix).stream().map(ObjectInfo::key).collect(Collectors.toList());
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void writeAndCommitThenReadGivesTheExactBytes() throws IOException {
    byte[] data = new byte[1_000_003]; // several buffers and, on object stores, more than one upload chunk
    new Random(9).nextBytes(data);
    String key = "c/d/20240102T030405Z-abcdef/data/00001.copy.zst";
    try (ObjectWriter w = storage.create(key)) {
      w.write(data[0]);
      w.write(data, 1, 70_000);
      w.write(data, 70_001, data.length - 70_001);
      w.commit();
    }
    assertThat(read(key)).isEqualTo(data);
    Optional<ObjectInfo> info = storage.stat(key);
    assertThat(info).isPresent();
    assertThat(info.get().key()).isEqualTo(key);
    assertThat(info.get().size()).isEqualTo(data.length);
    assertThat(info.get().modified()).isNotNull();
    assertThat(keys("")).containsExactly(key);
  }

  @Test
  void emptyObjectCanBeCommitted() throws IOException {
    try (ObjectWriter w = storage.create("e/empty")) {
      w.commit();
    }
    assertThat(read("e/empty")).isEmpty();
    assertThat(storage.stat("e/empty")).get().extracting(ObjectInfo::size).isEqualTo(0L);
  }

  @Test
  void uncommittedWriterIsInvisibleAndDiscardedOnClose() throws IOException {
    require(Capability.INVISIBLE_UNTIL_COMMIT);
    String key = "c/d/b/data/00002.copy.zst";
    try (ObjectWriter w = storage.create(key)) {
      w.write(new byte[1_000_000]);
      assertThat(storage.stat(key)).isEmpty();
      assertThat(storage.list("")).isEmpty();
      assertThatThrownBy(() -> storage.open(key)).isInstanceOf(StorageException.class);
    }
    assertThat(storage.stat(key)).isEmpty();
    assertThat(storage.list("")).isEmpty();
  }

  @Test
  void uncommittedWriterKeepsThePreviousObject() throws IOException {
    put("k/obj", "old");
    try (ObjectWriter w = storage.create("k/obj")) {
      w.write("new".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(text(read("k/obj"))).isEqualTo("old");
    assertThat(keys("")).containsExactly("k/obj");
  }

  @Test
  void commitReplacesAnExistingObject() throws IOException {
    put("a/obj", "first version, longer than the second");
    try (ObjectWriter w = storage.create("a/obj")) {
      w.write("second".getBytes(StandardCharsets.UTF_8));
      assertThat(text(read("a/obj"))).isEqualTo("first version, longer than the second");
      w.commit();
    }
    assertThat(text(read("a/obj"))).isEqualTo("second");
    assertThat(storage.stat("a/obj")).get().extracting(ObjectInfo::size).isEqualTo(6L);
    assertThat(keys("")).containsExactly("a/obj");
  }

  @Test
  void rangeReadStartsAtTheOffset() throws IOException {
    byte[] data = new byte[300_000];
    new Random(3).nextBytes(data);
    put("r/obj", data);
    for (long offset : new long[] {0, 1, 65_536, 123_457, data.length - 1}) {
      assertThat(read("r/obj", offset)).as("offset %d", offset)
          .isEqualTo(Arrays.copyOfRange(data, (int) offset, data.length));
    }
    assertThat(read("r/obj", data.length)).isEmpty();
    assertThat(read("r/obj", data.length + 10L)).isEmpty();
    assertThatThrownBy(() -> storage.open("r/obj", -1)).isInstanceOf(IllegalArgumentException.class);
    Throwable missing = catchThrowable(() -> storage.open("r/missing", 5));
    assertThat(missing).isInstanceOf(StorageException.class).hasMessageContaining("r/missing");
  }

  @Test
  void openOfAMissingKeyThrowsNamingTheKey() {
    String key = "c/d/20240102T030405Z-abcdef/manifest.json";
    Throwable t = catchThrowable(() -> storage.open(key));
    assertThat(t).isInstanceOf(StorageException.class).hasMessageContaining(key).hasMessageContaining("missing");
  }

  @Test
  void statGivesSizeAndIsEmptyForAMissingKey() throws IOException {
    put("s/one", "12345");
    assertThat(storage.stat("s/one")).get().extracting(ObjectInfo::size).isEqualTo(5L);
    assertThat(storage.stat("s/two")).isEmpty();
    assertThat(storage.stat("s")).isEmpty(); // a "directory" is not an object
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
    assertThat(storage.list("a/b/")).extracting(ObjectInfo::size).containsExactly(5L, 5L, 9L);
  }

  @Test
  void listReturnsEveryObjectWhenThereAreMoreThanOnePage() throws IOException {
    require(Capability.PAGING);
    int n = pagingKeyCount();
    List<String> expected = IntStream.range(0, n).mapToObj(i -> String.format("p/%05d", i)).toList();
    // written in reverse so sorted output is not an accident of insertion order
    for (int i = n - 1; i >= 0; i--) {
      put(expected.get(i), new byte[] {(byte) i});
    }
    put("o/outside", "x");
    put("pz", "x");
    assertThat(keys("p/")).containsExactlyElementsOf(expected);
    assertThat(keys("")).hasSize(n + 2);
  }

  @Test
  void deleteRemovesTheObjectAndAMissingKeyIsNotAnError() throws IOException {
    put("d/1", "x");
    put("d/2", "y");
    storage.delete("d/1");
    assertThat(storage.stat("d/1")).isEmpty();
    assertThat(keys("")).containsExactly("d/2");
    storage.delete("d/1");
    storage.delete("nowhere/at/all");
    assertThat(keys("")).containsExactly("d/2");
  }

  @Test
  void createIfAbsentReturnsTrueThenFalseAndKeepsTheFirstContent() throws IOException {
    require(Capability.PRECONDITIONS);
    String key = "c/d/b/manifest.json";
    assertThat(storage.createIfAbsent(key, "first".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(storage.createIfAbsent(key, "second".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(text(read(key))).isEqualTo("first");
    assertThat(keys("")).containsExactly(key);
  }

  @Test
  void createIfAbsentDoesNotReplaceAnObjectWrittenWithCreate() throws IOException {
    require(Capability.PRECONDITIONS);
    put("m", "committed");
    assertThat(storage.createIfAbsent("m", "late".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(text(read("m"))).isEqualTo("committed");
  }

  @Test
  void createIfAbsentRaceHasExactlyOneWinnerWhoseContentIsStored() throws Exception {
    require(Capability.PRECONDITIONS);
    require(Capability.ATOMIC_CONDITIONAL_CREATE);
    int threads = raceThreads();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < raceRounds(); round++) {
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
          if (results.get(i).get(60, TimeUnit.SECONDS)) {
            winners.add(i);
          }
        }
        assertThat(winners).as("round %d", round).hasSize(1);
        int w = winners.get(0);
        assertThat(text(read(key))).isEqualTo("writer-" + w + "-" + "x".repeat(w * 1000));
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(keys("race/")).hasSize(raceRounds()).allMatch(k -> k.endsWith("/manifest.json"));
  }

  @Test
  void describeNamesTheRepositoryWithoutCredentials() {
    String d = storage.describe();
    assertThat(d).isNotBlank();
    assertThat(d).doesNotContainPattern("(?i)password|secret|token|private_key|credential");
    assertThat(d).doesNotContainPattern("://[^/]*@"); // no user-info in a URL
    for (String secret : configuredSecrets()) {
      assertThat(d).doesNotContain(secret);
    }
  }
}
