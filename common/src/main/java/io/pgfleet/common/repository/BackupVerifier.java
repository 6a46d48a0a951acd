package io.pgfleet.common.repository;

import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.storage.ObjectInfo;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/** Re-reads every object of a backup and checks its size and SHA-256 against the manifest. */
public final class BackupVerifier {
  private final Storage storage;

  public BackupVerifier(Storage storage) {
    this.storage = storage;
  }

  public record Problem(String key, String what) {
    @Override
    public String toString() {
      return key + ": " + what;
    }
  }

  public record Result(Manifest manifest, int checked, long bytes, List<Problem> problems) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  public Result verify(Manifest m) throws IOException {
    List<ArtifactEntry> all = m.artifacts();
    List<Problem> problems = new ArrayList<>();
    long bytes = 0;
    for (ArtifactEntry a : all) {
      bytes += a.bytes();
      check(m.objectKey(a.key()), a.bytes(), a.sha256()).ifPresent(problems::add);
    }
    if (m.restoreGuideKey() != null) {
      String key = m.objectKey(m.restoreGuideKey());
      Optional<ObjectInfo> guide = storage.stat(key);
      if (guide.isEmpty()) {
        problems.add(new Problem(key, "missing"));
      } else {
        check(key, guide.get().size(), m.restoreGuideSha256()).ifPresent(problems::add);
      }
    }
    return new Result(m, all.size(), bytes, problems);
  }

  private Optional<Problem> check(String key, long expectedSize, String expectedSha) throws IOException {
    Optional<ObjectInfo> info = storage.stat(key);
    if (info.isEmpty()) {
      return Optional.of(new Problem(key, "missing"));
    }
    if (info.get().size() != expectedSize) {
      return Optional.of(new Problem(key, "size " + info.get().size() + " bytes, manifest says " + expectedSize));
    }
    MessageDigest sha = Sha256Counter.newSha256();
    try (InputStream in = storage.open(key)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
      }
    }
    String actual = HexFormat.of().formatHex(sha.digest());
    if (!actual.equals(expectedSha)) {
      return Optional.of(new Problem(key, "SHA-256 " + actual + ", manifest says " + expectedSha));
    }
    return Optional.empty();
  }
}
