package io.pgfleet.cli;

import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.MasterKey;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.worker.restore.ArchiveToc;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "show", description = {
    "Show what a backup holds: its source, and per table the rows, COPY text, stored bytes and chunks; then the "
        + "schema objects of its archive by type (needs pg_restore)."})
final class ShowCommand implements Callable<Integer> {
  @Mixin
  BackupSelection selection;

  @Mixin
  EncryptionKeyOption encryption;

  private record TableSummary(long rows, long raw, long stored, int artifacts, boolean chunked) {}

  @Override
  public Integer call() throws Exception {
    Storage storage = selection.open();
    EncryptionKeyOption.Opened opened = encryption.openIfKeyGiven(selection.find(storage));
    Manifest m = opened.manifest();
    ArtifactCipher cipher = opened.cipher();
    var out = System.out;
    out.printf("backup    %s%n", m.backupId());
    out.printf("database  %s/%s%n", m.cluster(), m.database());
    if (m.source() != null) {
      out.printf("source    PostgreSQL %s, snapshot %s, WAL %s, encoding %s%n", m.source().serverVersion(),
          m.source().snapshot(), m.source().walLsn(), m.source().encoding());
    }
    out.printf("taken     %s to %s (%s)%n", m.startedAt(), m.finishedAt(),
        Formats.duration(Duration.between(m.startedAt(), m.finishedAt())));
    out.printf("encryption %s%n", m.encrypted() ? m.encryption().format() + ", master key id "
        + m.encryption().keyId() : "none");
    if (m.hasSealedPart()) {
      return sealed(storage, m, cipher);
    }
    if (m.archiveMode()) {
      Manifest.Archive a = m.archive();
      out.printf("archive   %s pg_dump archive %s%s%s%n", a.format(), a.key(), a.jobs() > 1 ? ", -j " + a.jobs() : "",
          a.args().isEmpty() ? "" : ", " + String.join(" ", a.args()));
      out.printf("size      %s stored in %d files%n", Formats.bytes(m.totalBytes()), a.files().size());
      out.println();
      out.printf("%-56s %12s  %s%n", "FILE", "STORED", "SHA-256");
      for (ArtifactEntry f : a.files()) {
        out.printf("%-56s %12s  %s%n", f.key(), Formats.bytes(f.bytes()), f.sha256());
      }
      out.println();
      out.println("restore   with psql/pg_restore, not pgfleet restore: see RESTORE.md in the backup's folder");
      return 0;
    }
    restoreTest(storage, m, cipher);
    out.printf("selection %s%n", m.selection() == null ? "whole database"
        : m.selection().describe() + " (a partial backup)");
    out.printf("size      %s stored, %s of COPY text, %s rows in %d tables, %d artifacts%n",
        Formats.bytes(m.totalBytes()), Formats.bytes(m.data().stream().mapToLong(ArtifactEntry::rawBytes).sum()),
        Formats.count(m.totalRows()), m.tableCount(), m.data().size() + (m.schema() == null ? 0 : 1)
            + (m.globals() == null ? 0 : 1));
    out.printf("globals   %s%n", m.globals() == null ? "none (taken before pgfleet dumped roles and tablespaces)"
        : m.globals().key() + " (" + Formats.bytes(m.globals().bytes()) + ", roles and tablespaces, no passwords)");
    Map<TableRef, TableSummary> tables = new LinkedHashMap<>();
    for (ArtifactEntry a : m.data()) {
      tables.merge(a.table(), new TableSummary(a.rows(), a.rawBytes(), a.bytes(), 1, a.chunk() != null),
          (x, y) -> new TableSummary(x.rows() + y.rows(), x.raw() + y.raw(), x.stored() + y.stored(),
              x.artifacts() + y.artifacts(), x.chunked() || y.chunked()));
    }
    out.println();
    out.printf("%-48s %14s %12s %12s %7s%n", "TABLE", "ROWS", "COPY TEXT", "STORED", "CHUNKS");
    tables.entrySet().stream()
        .sorted((x, y) -> Long.compare(y.getValue().raw(), x.getValue().raw()))
        .forEach(e -> out.printf("%-48s %14s %12s %12s %7s%n", e.getKey().schema() + "." + e.getKey().name(),
            Formats.count(e.getValue().rows()), Formats.bytes(e.getValue().raw()), Formats.bytes(e.getValue().stored()),
            e.getValue().chunked() ? Integer.toString(e.getValue().artifacts()) : "-"));
    out.println();
    schemaObjects(storage, m);
    return 0;
  }

  /** What a reader without the key may see of an encrypted backup, and how to see the rest. */
  private static int sealed(Storage storage, Manifest m, ArtifactCipher cipher) {
    var out = System.out;
    out.printf("sealed    source, %s%n", m.archiveMode() ? "pg_dump selection flags and per file its size before"
        + " compression" : "selection, and per table its name, columns, rows, COPY-text size, digest and chunks");
    out.printf("          are in the manifest's sealed part: give key %s with --encryption-key-file FILE or %s%n",
        m.encryption().keyId(), MasterKey.ENV);
    if (m.archiveMode()) {
      out.printf("archive   %s pg_dump archive %s%s%n", m.archive().format(), m.archive().key(),
          m.archive().jobs() > 1 ? ", -j " + m.archive().jobs() : "");
    } else {
      restoreTest(storage, m, cipher);
    }
    out.printf("size      %s stored in %d artifacts%n", Formats.bytes(m.totalBytes()), m.artifacts().size());
    return 0;
  }

  private static void restoreTest(Storage storage, Manifest m, ArtifactCipher cipher) {
    java.util.Optional<io.pgfleet.common.repository.RestoreTestReport> last;
    try {
      last = io.pgfleet.common.repository.RestoreTestReport.latest(storage, m);
    } catch (IOException e) {
      System.out.printf("verified  unknown: the restore test results cannot be read (%s)%n", e.getMessage());
      return;
    }
    if (last.isEmpty()) {
      System.out.println("verified  never restore-tested ('pgfleet restore-test' does it)");
      return;
    }
    var r = last.get();
    if (r.hasSealedPart() && !cipher.encrypts()) {
      System.out.printf("verified  restore test %s at %s on %s (its tables and assertions are sealed)%n",
          r.passed() ? "PASSED" : "FAILED", r.finishedAt(), r.sandbox());
      return;
    }
    try {
      r = ManifestSeal.openReport(r, cipher);
    } catch (DataKeys.WrongKeyException e) {
      System.out.printf("verified  unknown: %s%n", e.getMessage());
      return;
    }
    System.out.printf("verified  restore test %s at %s on %s: %d tables, %s rows, %d assertions (%s)%n",
        r.passed() ? "PASSED" : "FAILED", r.finishedAt(), r.sandbox(), r.tables().size(), Formats.count(r.rowsChecked()),
        r.assertions().size(), io.pgfleet.common.repository.RepositoryLayout.VERIFY_DIR
            + r.key().substring(r.key().lastIndexOf('/') + 1));
    for (String f : r.failures()) {
      System.out.println("          FAILED: " + f);
    }
  }

  private static void schemaObjects(Storage storage, Manifest m) throws IOException {
    if (m.schema() == null) {
      return;
    }
    if (m.encrypted()) {
      System.out.println("schema objects: not listed: the backup is encrypted (key " + m.encryption().keyId()
          + "); pgfleet decrypt writes a plain copy");
      return;
    }
    Path pgRestore;
    try {
      pgRestore = PgTools.fromEnvironment().find("pg_restore", m.source().serverVersionNum());
    } catch (PgTools.ToolNotFoundException e) {
      System.out.println("schema objects: not listed: " + e.getMessage());
      return;
    }
    Path tmp = Files.createTempFile("pgfleet-show-", ".dump");
    try {
      try (InputStream in = storage.open(m.objectKey(m.schema().key()))) {
        Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      List<ArchiveToc.Entry> entries = ArchiveToc.read(pgRestore, tmp).entries();
      Map<String, Integer> byType = new TreeMap<>();
      entries.forEach(e -> byType.merge(e.type(), 1, Integer::sum));
      System.out.printf("schema objects (%s, %d entries):%n", m.schema().key(), entries.size());
      byType.forEach((type, n) -> System.out.printf("  %-28s %6d%n", type, n));
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
