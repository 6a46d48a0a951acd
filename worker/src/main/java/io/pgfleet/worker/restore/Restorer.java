package io.pgfleet.worker.restore;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.Catalog;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import io.pgfleet.common.pg.PgIdent;
import io.pgfleet.common.pg.PgTools;
import io.pgfleet.common.pg.TableRef;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.crypto.DataKeys;
import io.pgfleet.common.crypto.DecryptingInputStream;
import io.pgfleet.common.crypto.ManifestSeal;
import io.pgfleet.common.crypto.MasterKey;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

  /** What a restore brings back: everything, the definitions only, or the rows only (into existing tables). */
  public enum Mode { ALL, SCHEMA_ONLY, DATA_ONLY }

  /**
   * @param selection which schemas and tables ({@link RestoreSelection#ALL}: the whole backup)
   * @param clean drop the restored objects first if they exist (pg_restore --clean)
   * @param ifExists with clean: DROP ... IF EXISTS
   * @param intoSource allow the target to be the very database the backup was taken from
   * @param withGlobals first create the roles and tablespaces of the backup's globals artifact that the target
   *     server lacks ({@link GlobalsRestorer})
   */
  public record Options(int jobs, boolean noOwner, RestoreSelection selection, Mode mode, boolean clean,
      boolean ifExists, boolean intoSource, boolean withGlobals) {
    public Options(int jobs, boolean noOwner) {
      this(jobs, noOwner, RestoreSelection.ALL, Mode.ALL, false, false, false, false);
    }
  }

  /** What a finished restore did, and what the selection left out that the user should know. */
  public record Result(int tables, long rows, List<String> notes) {}

  public record Progress(int tablesTotal, int tablesDone, long rows, long bytes, long rawBytes, String phase) {}

  private final MasterKey encryptionKey;
  /** The restored backup's cipher, set by {@link #restore} before anything is read (one restore per instance). */
  private ArtifactCipher cipher = ArtifactCipher.NONE;
  private final Storage storage;
  private final PgTools tools;
  private final Consumer<Progress> progress;

  public Restorer(Storage storage, PgTools tools, Consumer<Progress> progress) {
    this(storage, tools, progress, null);
  }

  /** @param encryptionKey the master key for encrypted backups; null when none was given */
  public Restorer(Storage storage, PgTools tools, Consumer<Progress> progress, MasterKey encryptionKey) {
    this.storage = storage;
    this.tools = tools;
    this.progress = progress;
    this.encryptionKey = encryptionKey;
  }

  /**
   * Why an archive-mode backup is not restored by pgfleet, and the one standard command that restores it (run from
   * the backup's folder; RESTORE.md there has the full steps).
   */
  public static String archiveModeMessage(Manifest m) {
    Manifest.Archive a = m.archive();
    String cmd = a.restoreCommand("TARGET");
    return "backup " + m.backupId() + " is a " + a.format() + " pg_dump archive (archive mode), which pgfleet"
        + " restore does not load: in its folder run '" + cmd + "' (after createdb TARGET; RESTORE.md there has the"
        + " checksums and every step)";
  }

  /** @param stored the manifest as read from the repository: an encrypted backup's sealed part is opened here */
  public Result restore(Manifest stored, PgConnectionInfo target, Options options) throws RestoreException {
    if (stored.archiveMode()) {
      throw new RestoreException(archiveModeMessage(stored));
    }
    Manifest m;
    try {
      // Before anything touches the target: a missing or wrong key, or a damaged sealed part, fails with nothing
      // created.
      cipher = ArtifactCipher.forBackup(stored.encryption(), encryptionKey, "backup " + stored.backupId());
      m = ManifestSeal.open(stored, cipher);
    } catch (DataKeys.WrongKeyException e) {
      throw new RestoreException(e.getMessage());
    }
    if (options.withGlobals() && m.globals() == null) {
      throw new RestoreException("backup " + m.backupId() + " has no globals artifact (it was taken before pgfleet"
          + " dumped roles and tablespaces): restore without --with-globals, creating the roles first or adding"
          + " --no-owner");
    }
    Path pgRestore;
    try {
      pgRestore = tools.find("pg_restore", m.source().serverVersionNum());
    } catch (PgTools.ToolNotFoundException e) {
      throw new RestoreException(e.getMessage());
    }
    RestoreSelection selection = options.selection();
    List<TableRef> tables = m.data().stream().map(ArtifactEntry::table).distinct()
        .filter(selection::selects).toList();
    Path work = null;
    try {
      work = Files.createTempDirectory("pgfleet-restore-");
      // pg_restore -j needs a seekable archive file; the schema archive is small (no table data in it).
      Path schema = work.resolve("schema.dump");
      fetchVerified(m, m.schema(), schema);
      LOG.debug("restore: tools found and schema archive fetched");
      List<String> listArgs = new ArrayList<>();
      List<String> notes = new ArrayList<>();
      if (!selection.isAll()) {
        Set<String> present = existingRelations(target);
        RestoreSelection.Choice choice = selection.choose(ArchiveToc.read(pgRestore, schema),
            (s, n) -> present.contains(s + "\0" + n));
        if (choice.entries().isEmpty() && tables.isEmpty()) {
          throw new RestoreException("nothing in backup " + m.backupId() + " matches the selection (" + describe(
              selection) + "): check the names with 'pgfleet show'");
        }
        Path list = work.resolve("selection.list");
        Files.write(list, choice.entries().stream().map(ArchiveToc.Entry::listLine).toList(), StandardCharsets.UTF_8);
        listArgs.add("--use-list=" + list);
        if (options.mode() != Mode.DATA_ONLY) {
          notes.addAll(choice.notes());
        }
        // Rows only for tables whose definition the selection keeps: leaving out an object also leaves out what
        // depends on it (an inheritance child of an excluded parent), and its rows would have nowhere to go.
        Set<String> defined = new java.util.HashSet<>();
        choice.entries().stream().filter(e -> "TABLE".equals(e.type()))
            .forEach(e -> defined.add(e.schema() + "\0" + e.name()));
        tables = tables.stream().filter(t -> defined.contains(t.schema() + "\0" + t.name())).toList();
      }
      prepareTarget(m, target, options, tables);
      LOG.debug("restore: target prepared");
      if (options.withGlobals()) {
        report(tables.size(), 0, 0, 0, 0, "roles and tablespaces");
        notes.addAll(new GlobalsRestorer(storage, cipher).apply(m, target).notes());
      }
      Set<TableRef> selected = Set.copyOf(tables);
      List<ArtifactEntry> data = m.data().stream().filter(a -> selected.contains(a.table())).toList();
      int tableCount = tables.size();
      long rows = data.stream().mapToLong(ArtifactEntry::rows).sum();
      if (options.mode() != Mode.DATA_ONLY) {
        report(tableCount, 0, 0, 0, 0, "pre-data");
        List<String> args = new ArrayList<>(listArgs);
        args.addAll(List.of("--section=pre-data", "--single-transaction"));
        if (options.clean()) {
          args.add("--clean");
          if (options.ifExists()) {
            args.add("--if-exists");
          }
        }
        pgRestore(pgRestore, target, schema, options, args.toArray(String[]::new));
      }
      if (options.mode() != Mode.SCHEMA_ONLY) {
        loadData(m, data, target, options, options.mode() != Mode.DATA_ONLY);
        report(tableCount, tableCount, rows, 0, 0, "sequences and large objects");
        List<String> args = new ArrayList<>(listArgs);
        args.addAll(List.of("--section=data", "--single-transaction"));
        pgRestore(pgRestore, target, schema, options, args.toArray(String[]::new));
      }
      if (options.mode() != Mode.DATA_ONLY) {
        report(tableCount, tableCount, rows, 0, 0, "indexes and constraints");
        List<String> args = new ArrayList<>(listArgs);
        args.addAll(List.of("--section=post-data", "--jobs=" + Math.max(1, options.jobs())));
        pgRestore(pgRestore, target, schema, options, args.toArray(String[]::new));
      }
      report(tableCount, tableCount, rows, 0, 0, "done");
      return new Result(tableCount, options.mode() == Mode.SCHEMA_ONLY ? 0 : rows, List.copyOf(notes));
    } catch (IOException e) {
      throw new RestoreException("restore of backup " + m.backupId() + " failed: " + e.getMessage());
    } finally {
      if (work != null) {
        deleteTree(work);
      }
    }
  }

  /** The relations the target database has, as "schema\0name"; none if it does not exist yet. */
  private static Set<String> existingRelations(PgConnectionInfo target) throws RestoreException {
    Set<String> out = new java.util.HashSet<>();
    try (Connection c = connect(target); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("""
             SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r','p','v','m','f','S') AND n.nspname NOT IN ('pg_catalog','information_schema')
             """)) {
      while (rs.next()) {
        out.add(rs.getString(1) + "\0" + rs.getString(2));
      }
    } catch (SQLException e) {
      if (!"3D000".equals(e.getSQLState())) {
        throw new RestoreException("cannot inspect target database: " + PgErrors.describe(e, target));
      }
    }
    return out;
  }

  private static String describe(RestoreSelection s) {
    List<String> parts = new ArrayList<>();
    s.schemas().forEach(x -> parts.add("--schema " + x));
    s.tables().forEach(x -> parts.add("--table " + x));
    s.excludeTables().forEach(x -> parts.add("--exclude-table " + x));
    return String.join(" ", parts);
  }

  /**
   * Creates the target database if it does not exist, and otherwise checks that the restore cannot overwrite what
   * it should not: the source database itself needs {@code intoSource}; a whole restore needs an empty database
   * (or {@code clean}); a selective one needs its tables absent (or {@code clean}); a data-only one needs them
   * present and empty, so rows are never appended to rows.
   */
  private void prepareTarget(Manifest m, PgConnectionInfo target, Options o, List<TableRef> tables)
      throws RestoreException {
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
        if (o.mode() == Mode.DATA_ONLY) {
          throw new RestoreException("--data-only loads rows into existing tables, but database '" + db + "' does"
              + " not exist on " + target.endpoint() + ": restore without --data-only, or create the tables first");
        }
        createDatabase(c, m, db);
        return;
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot prepare target database: " + PgErrors.describe(e, admin));
    }
    try (Connection c = connect(target)) {
      refuseSource(m, target, o, c);
      if (o.selection().isAll() && o.mode() != Mode.DATA_ONLY && !o.clean()) {
        refuseNonEmpty(target, c);
      } else if (o.mode() == Mode.DATA_ONLY) {
        requireEmptyTables(target, c, tables);
      } else if (!o.clean()) {
        refuseExistingTables(target, c, tables);
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot inspect target database: " + PgErrors.describe(e, target));
    }
  }

  private static void refuseSource(Manifest m, PgConnectionInfo target, Options o, Connection c)
      throws SQLException, RestoreException {
    String sourceId = m.source().systemIdentifier();
    if (o.intoSource() || sourceId == null || !target.database().equals(m.database())) {
      return;
    }
    String targetId;
    try (Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT system_identifier::text FROM pg_control_system()")) {
      targetId = rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      return; // not readable here: nothing to compare
    }
    if (sourceId.equals(targetId)) {
      throw new RestoreException("target " + target.redacted() + " is the database backup " + m.backupId()
          + " was taken from: add --into-source to restore into it on purpose, or restore into another database");
    }
  }

  private static void refuseNonEmpty(PgConnectionInfo target, Connection c) throws SQLException, RestoreException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
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
        throw new RestoreException("target database '" + target.database() + "' on " + target.endpoint()
            + " is not empty (" + rels + " relations, " + schemas + " schemas, " + los + " large objects): restore"
            + " into a new or empty database (pgfleet creates it if it does not exist), select what to restore"
            + " (--table, --schema), or add --clean to replace what the backup holds");
      }
    }
  }

  private static void refuseExistingTables(PgConnectionInfo target, Connection c, List<TableRef> tables)
      throws SQLException, RestoreException {
    List<String> present = new ArrayList<>();
    for (TableRef t : tables) {
      if (exists(c, t)) {
        present.add(t.qualified());
      }
    }
    if (!present.isEmpty()) {
      throw new RestoreException("target " + target.redacted() + " already has " + names(present) + ": add --clean"
          + " to drop and restore " + (present.size() == 1 ? "it" : "them") + ", --data-only to load rows into"
          + " empty existing tables, or restore into another database");
    }
  }

  private static void requireEmptyTables(PgConnectionInfo target, Connection c, List<TableRef> tables)
      throws SQLException, RestoreException {
    List<String> missing = new ArrayList<>();
    List<String> filled = new ArrayList<>();
    for (TableRef t : tables) {
      if (!exists(c, t)) {
        missing.add(t.qualified());
      } else {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT FROM ONLY " + t.qualified() + ")")) {
          rs.next();
          if (rs.getBoolean(1)) {
            filled.add(t.qualified());
          }
        }
      }
    }
    if (!missing.isEmpty()) {
      throw new RestoreException("--data-only needs the tables to exist, and " + target.redacted() + " lacks "
          + names(missing) + ": restore their definitions first (without --data-only)");
    }
    if (!filled.isEmpty()) {
      throw new RestoreException("--data-only loads into empty tables only, and " + names(filled) + " in "
          + target.redacted() + " already " + (filled.size() == 1 ? "has" : "have") + " rows: truncate "
          + (filled.size() == 1 ? "it" : "them") + " first, or restore with --clean to replace definition and rows");
    }
  }

  private static boolean exists(Connection c, TableRef t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      ps.setString(1, t.qualified());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
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
    // Decrypted while fetched: the SHA-256 is of the stored bytes, the temporary file holds the plain archive.
    MessageDigest digest = Sha256Counter.newSha256();
    try (InputStream stored = new DigestingInput(storage.open(m.objectKey(a.key())), digest);
         InputStream in = cipher.decrypt(stored, a.key()); OutputStream out = Files.newOutputStream(to)) {
      try {
        in.transferTo(out);
      } catch (DecryptingInputStream.AuthenticationException e) {
        throw new RestoreException("artifact " + a.key() + " is corrupt: " + e.getMessage()
            + "; nothing was restored");
      }
      stored.transferTo(OutputStream.nullOutputStream());
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equals(a.sha256())) {
        throw new RestoreException("artifact " + a.key() + " is corrupt: SHA-256 " + actual + ", manifest says "
            + a.sha256() + "; nothing was restored");
      }
    }
  }

  private void pgRestore(Path pgRestore, PgConnectionInfo target, Path archive, Options options, String... args)
      throws RestoreException, IOException {
    if (transactionTimeoutUnknown(pgRestore, target)) {
      pgRestoreThroughPsql(pgRestore, target, archive, options, args);
      return;
    }
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

  /**
   * pg_restore 17 and newer start every session with {@code SET transaction_timeout = 0}, which servers before 17
   * refuse ("unrecognized configuration parameter"), so restoring directly into them fails whatever made the
   * archive. This happens when the worker has only a newer client, e.g. pg_dump 18 for a 13 server: its archive
   * needs pg_restore 18, and that one cannot restore directly into 13.
   */
  private boolean transactionTimeoutUnknown(Path pgRestore, PgConnectionInfo target) throws RestoreException {
    if (tools.major("pg_restore", pgRestore) < 17) {
      return false;
    }
    try (Connection c = connect(target); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int")) {
      rs.next();
      return rs.getInt(1) < 170000;
    } catch (SQLException e) {
      throw new RestoreException("cannot read the server version of the target: " + PgErrors.describe(e, target));
    }
  }

  /**
   * The section as a script without that one line, run by psql: same statements, same single transaction (the
   * script holds its BEGIN/COMMIT), but serial, as psql cannot run post-data in parallel.
   */
  private void pgRestoreThroughPsql(Path pgRestore, PgConnectionInfo target, Path archive, Options options,
      String... args) throws RestoreException, IOException {
    int major = tools.major("pg_restore", pgRestore);
    Path psql;
    try {
      // The script opens with \restrict (pg_restore 17.6 and newer), which only as new a psql knows.
      psql = tools.find("psql", major * 10000);
    } catch (PgTools.ToolNotFoundException e) {
      throw new RestoreException("restoring into a server older than PostgreSQL 17 with pg_restore " + major
          + " goes through psql " + major + " or newer: " + e.getMessage());
    }
    Path script = archive.resolveSibling("section.sql");
    Path filtered = archive.resolveSibling("section.filtered.sql");
    List<String> toScript = new ArrayList<>(List.of(pgRestore.toString(), "--exit-on-error", "--file=" + script));
    if (options.noOwner()) {
      toScript.add("--no-owner");
    }
    for (String a : args) {
      if (!a.startsWith("--jobs=")) {
        toScript.add(a);
      }
    }
    toScript.add(archive.toString());
    String what = "pg_restore " + String.join(" ", args) + " into " + target.redacted() + " (through psql)";
    runTool(toScript, target, what);
    dropFirstLine(script, filtered, "SET transaction_timeout = 0;\n".getBytes(StandardCharsets.US_ASCII));
    runTool(List.of(psql.toString(), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
        "--dbname=" + conninfoDbname(target.database()), "--file=" + filtered), target, what);
    Files.delete(script);
    Files.delete(filtered);
  }

  /** Byte for byte, whatever the archive's encoding; only the first occurrence: the header's. */
  private static void dropFirstLine(Path from, Path to, byte[] line) throws IOException {
    try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(from));
         OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(to))) {
      java.io.ByteArrayOutputStream current = new java.io.ByteArrayOutputStream();
      boolean dropped = false;
      for (int b; (b = in.read()) >= 0; ) {
        current.write(b);
        if (b == '\n') {
          if (!dropped && current.size() == line.length && java.util.Arrays.equals(current.toByteArray(), line)) {
            dropped = true;
          } else {
            current.writeTo(out);
          }
          current.reset();
        }
      }
      current.writeTo(out);
    }
  }

  private static void runTool(List<String> cmd, PgConnectionInfo target, String what)
      throws RestoreException, IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().putAll(target.libpqEnvironment());
    Process p = pb.start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      int rc = p.waitFor();
      if (rc != 0) {
        throw new RestoreException(what + " failed (exit " + rc + "): " + PgErrors.oneLine(errorLines(err)));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new RestoreException("interrupted during " + what);
    }
  }

  /** A conninfo string naming only the database: a bare -d value containing '=' would be parsed as conninfo. */
  static String conninfoDbname(String db) {
    return "dbname='" + db.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  /**
   * Loads every artifact, largest first, {@code jobs} at a time. A table in one artifact loads in one transaction
   * that first truncates it, so COPY can use FREEZE (rows written frozen: no hint-bit writes or anti-wraparound
   * vacuum later). The chunks of a split table load in parallel, each in its own transaction; if one of them fails,
   * the chunks of that table that did load are truncated away once the others stop, so a table is either whole or
   * empty, never partly loaded.
   */
  private void loadData(Manifest m, List<ArtifactEntry> artifacts, PgConnectionInfo target, Options options,
      boolean createdHere) throws RestoreException {
    List<ArtifactEntry> data = new ArrayList<>(artifacts);
    data.sort((a, b) -> Long.compare(b.rawBytes(), a.rawBytes()));
    Map<TableRef, List<ArtifactEntry>> byTable = new LinkedHashMap<>();
    artifacts.forEach(a -> byTable.computeIfAbsent(a.table(), t -> new ArrayList<>()).add(a));
    Map<TableRef, AtomicInteger> chunksLoaded = new ConcurrentHashMap<>();
    AtomicLong rows = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    AtomicLong raw = new AtomicLong();
    Set<TableRef> complete = ConcurrentHashMap.newKeySet();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, options.jobs()), r -> {
      Thread t = new Thread(r, "pgfleet-restore");
      t.setDaemon(true);
      return t;
    });
    report(byTable.size(), 0, 0, 0, 0, "table data");
    List<String> failures = new ArrayList<>();
    // One session per loading thread, reused from table to table: connecting costs more than a small table's load.
    Map<Thread, Connection> sessions = new ConcurrentHashMap<>();
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (ArtifactEntry a : data) {
        boolean whole = createdHere && byTable.get(a.table()).size() == 1;
        futures.add(pool.submit(() -> {
          Connection c = sessions.get(Thread.currentThread());
          if (c == null || c.isClosed()) {
            c = loadSession(target, !createdHere);
            sessions.put(Thread.currentThread(), c);
          }
          try {
            load(m, a, target, whole, c);
          } catch (Exception e) {
            // Whatever failed, this session may still hold the failed load's transaction: never load another
            // table on it (its commit would commit the unchecked rows too).
            sessions.remove(Thread.currentThread());
            rollbackQuietly(c);
            closeQuietly(c);
            throw e;
          }
          rows.addAndGet(a.rows());
          bytes.addAndGet(a.bytes());
          raw.addAndGet(a.rawBytes());
          int loaded = chunksLoaded.computeIfAbsent(a.table(), t -> new AtomicInteger()).incrementAndGet();
          if (loaded == byTable.get(a.table()).size()) {
            complete.add(a.table());
          }
          report(byTable.size(), complete.size(), rows.get(), bytes.get(), raw.get(), "table data");
          return null;
        }));
      }
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (ExecutionException e) {
          failures.add(e.getCause() instanceof RestoreException ? e.getCause().getMessage() : e.getCause().toString());
          futures.forEach(x -> x.cancel(false));
        } catch (CancellationException e) {
          // cancelled after an earlier failure
        }
      }
      pool.shutdown();
      // Loads already running go on to their end (each commits or rolls back on its own); wait for them before
      // cleaning up, or a chunk committing late would refill a table just emptied.
      pool.awaitTermination(7, TimeUnit.DAYS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RestoreException("interrupted while loading table data");
    } finally {
      pool.shutdownNow();
      for (Connection c : sessions.values()) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // the loads are over
        }
      }
    }
    if (failures.isEmpty()) {
      return;
    }
    List<String> emptied = new ArrayList<>();
    List<String> notEmptied = new ArrayList<>();
    for (Map.Entry<TableRef, AtomicInteger> e : chunksLoaded.entrySet()) {
      if (!complete.contains(e.getKey()) && e.getValue().get() > 0) {
        try {
          empty(target, e.getKey(), !createdHere);
          emptied.add(e.getKey().qualified());
        } catch (SQLException x) {
          notEmptied.add(e.getKey().qualified() + " (" + PgErrors.oneLine(x.getMessage()) + ")");
        }
      }
    }
    if (!notEmptied.isEmpty()) {
      failures.add("partly loaded and could not be emptied again: " + String.join(", ", notEmptied)
          + (createdHere ? "; drop the database before using it" : "; empty them by hand"));
    }
    List<String> missing = byTable.keySet().stream().filter(t -> !complete.contains(t)).map(TableRef::qualified)
        .sorted().toList();
    throw new RestoreException("restore of backup " + m.backupId() + " into " + target.redacted() + " stopped: "
        + String.join("; ", failures) + ". Restored " + complete.size() + " of " + byTable.size() + " tables ("
        + String.format(java.util.Locale.ROOT, "%,d", data.stream().filter(a -> complete.contains(a.table()))
            .mapToLong(ArtifactEntry::rows).sum()) + " rows); not restored, left empty: " + names(missing)
        + (emptied.isEmpty() ? "" : " (loaded chunks of " + names(emptied) + " were truncated again)")
        + (createdHere ? ". Indexes, constraints, sequence values and large objects were not restored: drop the"
            + " database and restore again once the cause is fixed"
            : ". Sequence values were not restored; the tables loaded keep their rows: truncate them to start over"));
  }

  private static String names(List<String> tables) {
    int show = 10;
    return tables.size() <= show ? String.join(", ", tables)
        : String.join(", ", tables.subList(0, show)) + " and " + (tables.size() - show) + " more";
  }

  /**
   * Removes the rows loaded into a table whose load did not complete. A table this restore created is truncated;
   * an existing one (data-only: it was empty before) is emptied with DELETE, since TRUNCATE refuses a table that
   * another table's foreign key references, and with triggers and foreign key checks off where permitted.
   */
  private static void empty(PgConnectionInfo target, TableRef table, boolean existing) throws SQLException {
    try (Connection c = connect(target); Statement st = c.createStatement()) {
      if (!existing) {
        st.execute("TRUNCATE ONLY " + table.qualified());
        return;
      }
      try {
        st.execute("SET session_replication_role = replica");
      } catch (SQLException ignored) {
        // not a superuser: the DELETE runs with foreign key checks, as the load did
      }
      st.execute("DELETE FROM ONLY " + table.qualified());
    }
  }

  /**
   * Loads one artifact in one transaction committed only after its SHA-256 and row count match the manifest: a
   * corrupted or truncated artifact leaves nothing behind.
   *
   * @param wholeTable the artifact holds the whole table: truncate first and COPY with FREEZE
   */
  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException ignored) {
      // a dead session rolls back on its own; the load's own error is what gets reported
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // closing anyway
    }
  }

  /** A load session: COPY settings, synchronous_commit off (a restore is redone if the server crashes). */
  private static Connection loadSession(PgConnectionInfo target, boolean intoExistingTables) throws SQLException {
    Connection c = connect(target);
    try {
      Catalog.applyCopySettings(c);
      try (Statement st = c.createStatement()) {
        st.execute("SET synchronous_commit = off");
        if (intoExistingTables) {
          // Rows go into tables that already have their foreign keys and triggers, loaded in parallel in no
          // particular order: as pg_restore --disable-triggers does, turn both off for the load. Superuser only;
          // without it the load runs with them on and a foreign key may refuse a table loaded before its parent.
          try {
            st.execute("SET session_replication_role = replica");
          } catch (SQLException e) {
            LOG.warn("loading with triggers and foreign key checks on ({}): tables referencing others may fail to"
                + " load before them", PgErrors.oneLine(e.getMessage()));
          }
        }
      }
      c.setAutoCommit(false);
      return c;
    } catch (SQLException e) {
      c.close();
      throw e;
    }
  }

  private void load(Manifest m, ArtifactEntry a, PgConnectionInfo target, boolean wholeTable, Connection c)
      throws Exception {
    String what = a.table().qualified() + (a.chunk() == null ? "" : " " + a.chunk().describe());
    {
      String copy = Catalog.copyIn(a.table(), a.columns());
      if (wholeTable) {
        try (Statement st = c.createStatement()) {
          st.execute("TRUNCATE ONLY " + a.table().qualified());
        }
        copy += " (FREEZE)";
      }
      MessageDigest sha = Sha256Counter.newSha256();
      long rows;
      DigestingInput digesting = new DigestingInput(storage.open(m.objectKey(a.key())), sha);
      // No finalizer (closed below): a finalizable stream would keep the storage stream and its buffers reachable
      // after the load, until the finalizer thread and an old-generation collection had run.
      ZstdInputStreamNoFinalizer z = null;
      try {
        z = new ZstdInputStreamNoFinalizer(cipher.decrypt(digesting, a.key()));
        rows = c.unwrap(PGConnection.class).getCopyAPI().copyIn(copy, z, 1 << 16);
        digesting.transferTo(OutputStream.nullOutputStream());
      } catch (IOException | SQLException e) {
        rollbackQuietly(c);
        // Hash the rest of the object too: a load that failed half way is corrupt only if the whole object is.
        try {
          digesting.transferTo(OutputStream.nullOutputStream());
        } catch (IOException ignored) {
          // unreadable: the digest stays partial and the artifact is reported corrupt
        }
        String actual = HexFormat.of().formatHex(sha.digest());
        if (!actual.equals(a.sha256())) {
          throw new RestoreException("artifact " + a.key() + " (" + what + ") is corrupt: "
              + (digesting.bytes() != a.bytes()
                  ? "it holds " + digesting.bytes() + " bytes, manifest says " + a.bytes()
                  : "its SHA-256 does not match the manifest")
              + "; it was not loaded");
        }
        throw new RestoreException("loading " + what + " from " + a.key() + " failed: "
            + (e instanceof SQLException s ? PgErrors.describe(s, target) : e.getMessage()));
      } finally {
        if (z != null) {
          z.close();
        } else {
          digesting.close();
        }
      }
      String actual = HexFormat.of().formatHex(sha.digest());
      if (!actual.equals(a.sha256())) {
        c.rollback();
        throw new RestoreException("artifact " + a.key() + " (" + what + ") is corrupt: SHA-256 " + actual
            + ", manifest says " + a.sha256() + "; it was not loaded");
      }
      if (rows != a.rows()) {
        c.rollback();
        throw new RestoreException("artifact " + a.key() + " (" + what + ") loaded " + rows
            + " rows, manifest says " + a.rows() + "; it was not loaded");
      }
      c.commit();
    }
  }

  private static Connection connect(PgConnectionInfo target) throws SQLException {
    return DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties("pgfleet-restore"));
  }

  private long phaseStarted = System.nanoTime();
  private String lastPhase;

  private synchronized void report(int tables, int done, long rows, long bytes, long raw, String phase) {
    if (!phase.equals(lastPhase)) {
      long now = System.nanoTime();
      if (lastPhase != null) {
        LOG.info("restore: {} took {} ms", lastPhase, (now - phaseStarted) / 1_000_000);
      }
      lastPhase = phase;
      phaseStarted = now;
    }
    if (progress != null) {
      progress.accept(new Progress(tables, done, rows, bytes, raw, phase));
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
    private long bytes;

    DigestingInput(InputStream in, MessageDigest sha) {
      super(in);
      this.sha = sha;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        sha.update((byte) b);
        bytes++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n > 0) {
        sha.update(b, off, n);
        bytes += n;
      }
      return n;
    }

    /** Bytes read so far. */
    long bytes() {
      return bytes;
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
