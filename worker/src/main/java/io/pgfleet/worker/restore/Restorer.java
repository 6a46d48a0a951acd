package io.pgfleet.worker.restore;

import com.github.luben.zstd.ZstdInputStream;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import io.pgfleet.common.pg.PgIdent;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.stream.Sha256Counter;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a backup into an empty database: pg_restore pre-data, the table data loaded with COPY in parallel
 * (each table in its own transaction, its checksum and row count checked before commit, so a corrupted artifact
 * is never left loaded), pg_restore of the rest of the data section (sequence values, large objects), then
 * pg_restore -j of post-data (indexes, constraints, triggers, materialized view refreshes).
 */
public final class Restorer {
  private static final Logger LOG = LoggerFactory.getLogger(Restorer.class);

  public record Options(int jobs, boolean noOwner) {}

  public record Progress(int tablesTotal, int tablesDone, long rows, long bytes, long rawBytes, String phase) {}

  private final Storage storage;
  private final PgTools tools;
  private final Consumer<Progress> progress;

  public Restorer(Storage storage, PgTools tools, Consumer<Progress> progress) {
    this.storage = storage;
    this.tools = tools;
    this.progress = progress;
  }

  public void restore(Manifest m, PgConnectionInfo target, Options options) throws RestoreException {
    Path pgRestore;
    try {
      pgRestore = tools.find("pg_restore", m.source().serverVersionNum());
    } catch (PgTools.ToolNotFoundException e) {
      throw new RestoreException(e.getMessage());
    }
    prepareTarget(m, target);
    Path work = null;
    try {
      work = Files.createTempDirectory("pgfleet-restore-");
      // pg_restore -j needs a seekable archive file; the schema archive is small (no table data in it).
      Path schema = work.resolve("schema.dump");
      fetchVerified(m, m.schema(), schema);
      report(m, 0, 0, 0, 0, "pre-data");
      pgRestore(pgRestore, target, schema, options, "--section=pre-data", "--single-transaction");
      loadData(m, target, options);
      report(m, m.data().size(), m.totalRows(), 0, 0, "sequences and large objects");
      pgRestore(pgRestore, target, schema, options, "--section=data", "--single-transaction");
      report(m, m.data().size(), m.totalRows(), 0, 0, "indexes and constraints");
      pgRestore(pgRestore, target, schema, options, "--section=post-data", "--jobs=" + Math.max(1, options.jobs()));
    } catch (IOException e) {
      throw new RestoreException("restore of backup " + m.backupId() + " failed: " + e.getMessage());
    } finally {
      if (work != null) {
        deleteTree(work);
      }
    }
  }

  /** Creates the target database, or checks that an existing one is empty; refuses to restore over data. */
  private void prepareTarget(Manifest m, PgConnectionInfo target) throws RestoreException {
    String db = target.database();
    PgConnectionInfo admin = target.withDatabase("postgres");
    try (Connection c = connect(admin)) {
      boolean exists;
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
        ps.setString(1, db);
        try (ResultSet rs = ps.executeQuery()) {
          exists = rs.next();
        }
      }
      if (!exists) {
        createDatabase(c, m, db);
        return;
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot prepare target database: " + PgErrors.describe(e, admin));
    }
    try (Connection c = connect(target); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("""
             SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE c.relkind IN ('r','p','v','m','S','f')
                        AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_'),
                    (SELECT count(*) FROM pg_namespace
                      WHERE nspname NOT IN ('public','information_schema') AND nspname !~ '^pg_'),
                    (SELECT count(*) FROM pg_largeobject_metadata)
             """)) {
      rs.next();
      long rels = rs.getLong(1);
      long schemas = rs.getLong(2);
      long los = rs.getLong(3);
      if (rels + schemas + los > 0) {
        throw new RestoreException("target database '" + db + "' on " + target.endpoint() + " is not empty ("
            + rels + " relations, " + schemas + " schemas, " + los + " large objects): restore into a new or empty"
            + " database (pgfleet creates it if it does not exist), or drop this one first");
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot inspect target database: " + PgErrors.describe(e, target));
    }
  }

  private static void createDatabase(Connection c, Manifest m, String db) throws SQLException {
    String base = "CREATE DATABASE " + PgIdent.quote(db) + " TEMPLATE template0 ENCODING "
        + PgIdent.literal(m.source().encoding());
    try (Statement st = c.createStatement()) {
      try {
        st.execute(base + " LC_COLLATE " + PgIdent.literal(m.source().collate()) + " LC_CTYPE "
            + PgIdent.literal(m.source().ctype()));
      } catch (SQLException e) {
        // The source's locale may not exist on this server: the data restores the same, only sort order and
        // case rules follow the server's default locale.
        LOG.warn("locale {} / {} unavailable on target ({}); creating {} with the server's default locale",
            m.source().collate(), m.source().ctype(), PgErrors.oneLine(e.getMessage()), db);
        st.execute(base);
      }
    }
  }

  private void fetchVerified(Manifest m, ArtifactEntry a, Path to) throws IOException, RestoreException {
    try (InputStream in = storage.open(m.objectKey(a.key())); OutputStream out = Files.newOutputStream(to);
         Sha256Counter sha = new Sha256Counter(out)) {
      in.transferTo(sha);
      sha.flush();
      String actual = sha.sha256();
      if (!actual.equals(a.sha256())) {
        throw new RestoreException("artifact " + a.key() + " is corrupt: SHA-256 " + actual + ", manifest says "
            + a.sha256() + "; nothing was restored");
      }
    }
  }

  private void pgRestore(Path pgRestore, PgConnectionInfo target, Path archive, Options options, String... args)
      throws RestoreException, IOException {
    List<String> cmd = new ArrayList<>(List.of(pgRestore.toString(), "--exit-on-error", "--no-password",
        "--dbname=" + conninfoDbname(target.database())));
    if (options.noOwner()) {
      cmd.add("--no-owner");
    }
    cmd.addAll(List.of(args));
    cmd.add(archive.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(target.libpqEnvironment());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      int rc = p.waitFor();
      if (rc != 0) {
        throw new RestoreException("pg_restore " + String.join(" ", args) + " into " + target.redacted()
            + " failed (exit " + rc + "): " + PgErrors.oneLine(errorLines(out)));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new RestoreException("interrupted during pg_restore");
    }
  }

  private static String errorLines(String out) {
    StringBuilder sb = new StringBuilder();
    for (String l : out.split("\\R")) {
      if (l.contains("error") || l.contains("ERROR") || l.contains("DETAIL") || l.contains("HINT")) {
        sb.append(l.replaceFirst("^pg_restore: ", "")).append(' ');
      }
    }
    return sb.length() > 0 ? sb.toString() : out;
  }

  /** A conninfo string naming only the database: a bare -d value containing '=' would be parsed as conninfo. */
  static String conninfoDbname(String db) {
    return "dbname='" + db.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  private void loadData(Manifest m, PgConnectionInfo target, Options options) throws RestoreException {
    List<ArtifactEntry> data = new ArrayList<>(m.data());
    data.sort((a, b) -> Long.compare(b.rawBytes(), a.rawBytes()));
    AtomicLong rows = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    AtomicLong raw = new AtomicLong();
    List<String> loaded = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, options.jobs()), r -> {
      Thread t = new Thread(r, "pgfleet-restore");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (ArtifactEntry a : data) {
        futures.add(pool.submit(() -> {
          load(m, a, target);
          loaded.add(a.table().qualified());
          rows.addAndGet(a.rows());
          bytes.addAndGet(a.bytes());
          raw.addAndGet(a.rawBytes());
          report(m, loaded.size(), rows.get(), bytes.get(), raw.get(), "table data");
          return null;
        }));
      }
      List<String> failures = new ArrayList<>();
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (ExecutionException e) {
          failures.add(e.getCause().getMessage());
          futures.forEach(x -> x.cancel(false));
        } catch (java.util.concurrent.CancellationException e) {
          // cancelled after an earlier failure
        }
      }
      if (!failures.isEmpty()) {
        throw new RestoreException("restore of backup " + m.backupId() + " into " + target.redacted()
            + " stopped: " + String.join("; ", failures) + ". Loaded " + loaded.size() + " of " + data.size()
            + " tables; indexes, constraints, sequence values and large objects were not restored. The database is"
            + " incomplete: drop it and restore again once the artifact is repaired");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RestoreException("interrupted while loading table data");
    } finally {
      pool.shutdownNow();
    }
  }

  private void load(Manifest m, ArtifactEntry a, PgConnectionInfo target) throws Exception {
    try (Connection c = connect(target)) {
      Catalog.applyCopySettings(c);
      try (Statement st = c.createStatement()) {
        // Each table loads in one transaction that is committed only after its checksum and row count match:
        // a corrupted or truncated artifact leaves the table empty, never half-loaded.
        st.execute("SET synchronous_commit = off");
      }
      c.setAutoCommit(false);
      MessageDigest sha = Sha256Counter.newSha256();
      long rows;
      try (InputStream raw = storage.open(m.objectKey(a.key()));
           InputStream digesting = new DigestingInput(raw, sha);
           ZstdInputStream z = new ZstdInputStream(digesting)) {
        rows = c.unwrap(PGConnection.class).getCopyAPI()
            .copyIn(Catalog.copyIn(a.table(), a.columns()), z, 1 << 16);
        digesting.transferTo(OutputStream.nullOutputStream());
      } catch (IOException | SQLException e) {
        c.rollback();
        String actual = HexFormat.of().formatHex(sha.digest());
        if (!actual.equals(a.sha256())) {
          throw new RestoreException("artifact " + a.key() + " (table " + a.table().qualified()
              + ") is corrupt: its SHA-256 does not match the manifest; the table was not loaded");
        }
        throw new RestoreException("loading " + a.table().qualified() + " from " + a.key() + " failed: "
            + (e instanceof SQLException s ? PgErrors.describe(s, target) : e.getMessage()));
      }
      String actual = HexFormat.of().formatHex(sha.digest());
      if (!actual.equals(a.sha256())) {
        c.rollback();
        throw new RestoreException("artifact " + a.key() + " (table " + a.table().qualified()
            + ") is corrupt: SHA-256 " + actual + ", manifest says " + a.sha256() + "; the table was not loaded");
      }
      if (rows != a.rows()) {
        c.rollback();
        throw new RestoreException("artifact " + a.key() + " (table " + a.table().qualified() + ") loaded " + rows
            + " rows, manifest says " + a.rows() + "; the table was not loaded");
      }
      c.commit();
    }
  }

  private static Connection connect(PgConnectionInfo target) throws SQLException {
    return DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties("pgfleet-restore"));
  }

  private void report(Manifest m, int done, long rows, long bytes, long raw, String phase) {
    if (progress != null) {
      progress.accept(new Progress(m.data().size(), done, rows, bytes, raw, phase));
    }
  }

  private static void deleteTree(Path dir) {
    try (var s = Files.walk(dir)) {
      s.sorted(Collections.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // temp dir: best effort
        }
      });
    } catch (IOException ignored) {
      // best effort
    }
  }

  /** Hashes the stored bytes as they are read, so the check costs no second pass. */
  private static final class DigestingInput extends FilterInputStream {
    private final MessageDigest sha;

    DigestingInput(InputStream in, MessageDigest sha) {
      super(in);
      this.sha = sha;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        sha.update((byte) b);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n > 0) {
        sha.update(b, off, n);
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      return super.skip(0);
    }
  }

  public static final class RestoreException extends Exception {
    public RestoreException(String message) {
      super(message, null, false, false);
    }
  }
}
