package io.pgfleet.worker.restore;

import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.PgConnectionInfo;
import io.pgfleet.common.pg.PgErrors;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.crypto.ArtifactCipher;
import io.pgfleet.common.stream.Sha256Counter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Applies a backup's globals artifact (pg_dumpall --globals-only) to the target server, creating only what is
 * missing: a role that exists is never changed (its attributes, settings and memberships stay as they are), a
 * missing role is created with the attributes, settings, comment and memberships the source had, and a missing
 * tablespace is created where its location exists on the target server.
 *
 * <p>Roles and memberships go in one transaction, so a failure leaves no half-made role behind. CREATE TABLESPACE
 * cannot run in a transaction block: tablespaces follow, one statement at a time. A statement pgfleet does not
 * recognise is skipped with a note rather than run blindly: this runs as a role able to create roles, on a server
 * that may serve others.
 */
public final class GlobalsRestorer {
  /** What {@link #apply} did, as lines for the restore's notes. */
  public record Outcome(List<String> createdRoles, List<String> existingRoles, List<String> createdTablespaces,
      List<String> notes) {}

  private static final Pattern CLIENT_ENCODING = Pattern.compile("(?m)^SET client_encoding = '([^']+)';");
  private static final Map<String, Charset> CHARSETS = Map.of("UTF8", StandardCharsets.UTF_8,
      "LATIN1", StandardCharsets.ISO_8859_1, "SQL_ASCII", StandardCharsets.ISO_8859_1);

  private final ArtifactCipher cipher;
  private final Storage storage;

  public GlobalsRestorer(Storage storage) {
    this(storage, ArtifactCipher.NONE);
  }

  public GlobalsRestorer(Storage storage, ArtifactCipher cipher) {
    this.cipher = cipher;
    this.storage = storage;
  }

  public Outcome apply(Manifest m, PgConnectionInfo target) throws Restorer.RestoreException {
    ArtifactEntry a = m.globals();
    if (a == null) {
      throw new Restorer.RestoreException("backup " + m.backupId() + " has no globals artifact (it was taken before"
          + " pgfleet dumped roles and tablespaces): restore without --with-globals, creating the roles first, or"
          + " with --no-owner");
    }
    String sql = read(m, a);
    List<ScriptStatement> statements = parse(sql);
    List<String> notes = new ArrayList<>();
    Set<String> created = new LinkedHashSet<>();
    Set<String> existing = new LinkedHashSet<>();
    List<ScriptStatement> tablespaceStatements = new ArrayList<>();
    List<String> membershipsSkipped = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties("pgfleet-restore"))) {
      Set<String> roles = names(c, "SELECT rolname FROM pg_roles");
      c.setAutoCommit(false);
      for (ScriptStatement s : statements) {
        switch (s.kind()) {
          case CREATE_ROLE -> {
            if (roles.contains(s.object()) || s.object().startsWith("pg_")) {
              existing.add(s.object());
              continue;
            }
            try {
              run(c, s.sql());
            } catch (SQLException e) {
              c.rollback();
              throw new Restorer.RestoreException("cannot create role " + s.object() + " from the globals of backup "
                  + m.backupId() + " in " + target.endpoint() + ": " + PgErrors.describe(e, target)
                  + "; restore as a role with CREATEROLE (or a superuser), or without --with-globals and with"
                  + " --no-owner");
            }
            created.add(s.object());
            roles.add(s.object());
          }
          case ROLE -> {
            if (created.contains(s.object())) {
              tryRun(c, s, notes, "role " + s.object());
            }
          }
          case MEMBERSHIP -> {
            if (isMember(c, s.object(), s.member())) {
              continue;
            }
            if (!created.contains(s.member())) {
              membershipsSkipped.add(s.member() + " in " + s.object());
              continue;
            }
            // GRANTED BY names a grantor the target may lack or that this role may not act for: the membership
            // matters, the grantor less so.
            if (!tryRun(c, s, null, null)) {
              tryRun(c, s.withoutGrantor(), notes, "role " + s.member());
            }
          }
          case TABLESPACE_CREATE, TABLESPACE -> tablespaceStatements.add(s);
          case SESSION -> { }
          case UNKNOWN -> notes.add("globals: skipped a statement pgfleet does not apply: " + abbreviate(s.sql()));
          default -> throw new IllegalStateException(s.kind().toString());
        }
      }
      c.commit();
      c.setAutoCommit(true);
      Set<String> tablespaces = names(c, "SELECT spcname FROM pg_tablespace");
      Set<String> createdSpaces = new LinkedHashSet<>();
      for (ScriptStatement s : tablespaceStatements) {
        if (s.kind() == Kind.TABLESPACE_CREATE) {
          if (tablespaces.contains(s.object())) {
            continue;
          }
          try {
            run(c, s.sql());
            createdSpaces.add(s.object());
          } catch (SQLException e) {
            notes.add("globals: tablespace " + s.object() + " was not created: " + PgErrors.oneLine(e.getMessage())
                + " (its directory must exist on the target server, empty and owned by the server's OS user);"
                + " objects in it will fail to restore until it exists");
          }
        } else if (createdSpaces.contains(s.object())) {
          tryRun(c, s, notes, "tablespace " + s.object());
        }
      }
      if (!membershipsSkipped.isEmpty()) {
        notes.add("globals: role memberships of roles that already existed were left as they are, not added: "
            + String.join(", ", membershipsSkipped));
      }
      notes.add(0, "globals: created " + (created.isEmpty() ? "no role" : "roles " + String.join(", ", created))
          + (createdSpaces.isEmpty() ? "" : " and tablespaces " + String.join(", ", createdSpaces))
          + (existing.isEmpty() ? "" : "; roles that already existed, left unchanged: " + list(existing))
          + "; no passwords were restored (the backup holds none): set them with ALTER ROLE ... PASSWORD");
      return new Outcome(List.copyOf(created), List.copyOf(existing), List.copyOf(createdSpaces), List.copyOf(notes));
    } catch (SQLException e) {
      throw new Restorer.RestoreException("applying the globals of backup " + m.backupId() + " to "
          + target.endpoint() + " failed: " + PgErrors.describe(e, target));
    }
  }

  private String read(Manifest m, ArtifactEntry a) throws Restorer.RestoreException {
    byte[] bytes;
    try (InputStream in = storage.open(m.objectKey(a.key()))) {
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new Restorer.RestoreException("cannot read " + a.key() + " of backup " + m.backupId() + ": "
          + e.getMessage());
    }
    MessageDigest sha = Sha256Counter.newSha256();
    String actual = HexFormat.of().formatHex(sha.digest(bytes));
    if (!actual.equals(a.sha256())) {
      throw new Restorer.RestoreException("artifact " + a.key() + " is corrupt: SHA-256 " + actual
          + ", manifest says " + a.sha256() + "; nothing was restored");
    }
    try (InputStream in = cipher.decrypt(new java.io.ByteArrayInputStream(bytes), a.key())) {
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new Restorer.RestoreException("artifact " + a.key() + " is corrupt: " + e.getMessage()
          + "; nothing was restored");
    }
    // pg_dumpall writes in the server's encoding and says which on one of its first lines.
    Matcher enc = CLIENT_ENCODING.matcher(new String(bytes, StandardCharsets.ISO_8859_1));
    Charset cs = enc.find() ? CHARSETS.getOrDefault(enc.group(1).toUpperCase(Locale.ROOT), StandardCharsets.UTF_8)
        : StandardCharsets.UTF_8;
    return new String(bytes, cs);
  }

  private static Set<String> names(Connection c, String sql) throws SQLException {
    Set<String> out = new HashSet<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static boolean isMember(Connection c, String role, String member) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_auth_members am"
        + " JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member"
        + " WHERE r.rolname = ? AND m.rolname = ?")) {
      ps.setString(1, role);
      ps.setString(2, member);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static void run(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  /** Runs one statement, under a savepoint when in a transaction; a failure becomes a note (when {@code what}). */
  private static boolean tryRun(Connection c, ScriptStatement s, List<String> notes, String what) throws SQLException {
    Savepoint sp = c.getAutoCommit() ? null : c.setSavepoint();
    try {
      run(c, s.sql());
      if (sp != null) {
        c.releaseSavepoint(sp);
      }
      return true;
    } catch (SQLException e) {
      if (sp != null) {
        c.rollback(sp);
      }
      if (notes != null) {
        notes.add("globals: " + what + ": not applied: " + abbreviate(s.sql()) + ": "
            + PgErrors.oneLine(e.getMessage()));
      }
      return false;
    }
  }

  /** Names for a note: a server may have hundreds of roles. */
  private static String list(Set<String> names) {
    List<String> all = new ArrayList<>(names);
    int show = 20;
    return all.size() <= show ? String.join(", ", all)
        : String.join(", ", all.subList(0, show)) + " and " + (all.size() - show) + " more";
  }

  private static String abbreviate(String sql) {
    String one = sql.replaceAll("\\s+", " ").trim();
    return one.length() > 100 ? one.substring(0, 97) + "..." : one;
  }

  // ------------------------------------------------------------------ parsing pg_dumpall's output

  enum Kind { CREATE_ROLE, ROLE, MEMBERSHIP, TABLESPACE_CREATE, TABLESPACE, SESSION, UNKNOWN }

  /**
   * One statement of the script.
   *
   * @param object the role or tablespace it is about (for a membership: the role granted)
   * @param member for a membership: the role that receives it
   */
  record ScriptStatement(Kind kind, String object, String member, String sql) {
    ScriptStatement withoutGrantor() {
      return new ScriptStatement(kind, object, member, sql.replaceFirst("(?is)\\s+GRANTED\\s+BY\\s+.*$", ""));
    }
  }

  /**
   * Splits the script into statements (semicolons outside quotes and comments; psql meta-commands such as
   * {@code \restrict} are dropped) and classifies each by its leading words.
   */
  static List<ScriptStatement> parse(String script) {
    List<ScriptStatement> out = new ArrayList<>();
    for (String sql : split(script)) {
      out.add(classify(sql));
    }
    return out;
  }

  static List<String> split(String s) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    int i = 0;
    int n = s.length();
    while (i < n) {
      char ch = s.charAt(i);
      if (cur.toString().isBlank() && ch == '\\') {
        int eol = s.indexOf('\n', i);
        i = eol < 0 ? n : eol + 1;
        cur.setLength(0);
        continue;
      }
      if (ch == '-' && i + 1 < n && s.charAt(i + 1) == '-') {
        int eol = s.indexOf('\n', i);
        i = eol < 0 ? n : eol + 1;
        cur.append('\n');
        continue;
      }
      if (ch == '\'' || ch == '"') {
        int end = i + 1;
        while (end < n) {
          if (s.charAt(end) == ch) {
            if (end + 1 < n && s.charAt(end + 1) == ch) {
              end += 2;
              continue;
            }
            break;
          }
          end++;
        }
        end = Math.min(end, n - 1);
        cur.append(s, i, end + 1);
        i = end + 1;
        continue;
      }
      if (ch == ';') {
        String stmt = cur.toString().trim();
        if (!stmt.isEmpty()) {
          out.add(stmt);
        }
        cur.setLength(0);
        i++;
        continue;
      }
      cur.append(ch);
      i++;
    }
    if (!cur.toString().isBlank()) {
      out.add(cur.toString().trim());
    }
    return out;
  }

  static ScriptStatement classify(String sql) {
    List<String> t = tokens(sql, 12);
    String w0 = word(t, 0);
    String w1 = word(t, 1);
    if (w0.equals("set") || (w0.equals("select") && sql.contains("set_config"))) {
      return new ScriptStatement(Kind.SESSION, null, null, sql);
    }
    if (w0.equals("create") && w1.equals("role") && t.size() == 3) {
      return new ScriptStatement(Kind.CREATE_ROLE, t.get(2), null, sql);
    }
    if (w0.equals("alter") && w1.equals("role") && t.size() > 3) {
      return new ScriptStatement(Kind.ROLE, t.get(2), null, sql);
    }
    if (w0.equals("comment") && w1.equals("on") && word(t, 2).equals("role") && t.size() > 3) {
      return new ScriptStatement(Kind.ROLE, t.get(3), null, sql);
    }
    if (w0.equals("create") && w1.equals("tablespace") && t.size() > 2) {
      return new ScriptStatement(Kind.TABLESPACE_CREATE, t.get(2), null, sql);
    }
    if (w0.equals("alter") && w1.equals("tablespace") && t.size() > 2) {
      return new ScriptStatement(Kind.TABLESPACE, t.get(2), null, sql);
    }
    if (w0.equals("comment") && w1.equals("on") && word(t, 2).equals("tablespace") && t.size() > 3) {
      return new ScriptStatement(Kind.TABLESPACE, t.get(3), null, sql);
    }
    int on = indexOfWord(t, "on");
    if (w0.equals("security") && w1.equals("label") && on > 0 && on + 2 < t.size()) {
      String what = word(t, on + 1);
      if (what.equals("role")) {
        return new ScriptStatement(Kind.ROLE, t.get(on + 2), null, sql);
      }
      if (what.equals("tablespace")) {
        return new ScriptStatement(Kind.TABLESPACE, t.get(on + 2), null, sql);
      }
    }
    if ((w0.equals("grant") || w0.equals("revoke")) && on > 0 && word(t, on + 1).equals("tablespace")
        && on + 2 < t.size()) {
      return new ScriptStatement(Kind.TABLESPACE, t.get(on + 2), null, sql);
    }
    if (w0.equals("grant") && word(t, 2).equals("to") && t.size() > 3 && !t.get(1).contains(",")) {
      return new ScriptStatement(Kind.MEMBERSHIP, t.get(1), t.get(3), sql);
    }
    return new ScriptStatement(Kind.UNKNOWN, null, null, sql);
  }

  private static String word(List<String> t, int i) {
    return i < t.size() ? t.get(i).toLowerCase(Locale.ROOT) : "";
  }

  private static int indexOfWord(List<String> t, String w) {
    for (int i = 0; i < t.size(); i++) {
      if (t.get(i).equalsIgnoreCase(w)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The first {@code max} tokens: identifiers with their quotes removed (a quoted identifier is the name exactly as
   * written, a bare one is already lower case in pg_dumpall's output), keywords, and single characters otherwise.
   * A string literal ends the scan: what follows it is not needed to classify a statement.
   */
  static List<String> tokens(String sql, int max) {
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = sql.length();
    while (i < n && out.size() < max) {
      char ch = sql.charAt(i);
      if (Character.isWhitespace(ch)) {
        i++;
      } else if (ch == '"') {
        StringBuilder sb = new StringBuilder();
        i++;
        while (i < n) {
          char c = sql.charAt(i);
          if (c == '"') {
            if (i + 1 < n && sql.charAt(i + 1) == '"') {
              sb.append('"');
              i += 2;
              continue;
            }
            i++;
            break;
          }
          sb.append(c);
          i++;
        }
        out.add(sb.toString());
      } else if (ch == '\'') {
        break;
      } else if (Character.isLetterOrDigit(ch) || ch == '_' || ch == '$') {
        int start = i;
        while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_' || sql.charAt(i) == '$')) {
          i++;
        }
        out.add(sql.substring(start, i));
      } else {
        out.add(String.valueOf(ch));
        i++;
      }
    }
    return out;
  }
}
