package io.pgfleet.coordinator.guide;

import io.pgfleet.common.manifest.ArtifactEntry;
import io.pgfleet.common.manifest.Manifest;
import io.pgfleet.common.pg.Catalog;
import java.util.List;

/**
 * Writes RESTORE.md: the exact commands that rebuild the backup with PostgreSQL's own tools and zstd, in the
 * order pgfleet restore uses (pre-data, table data, the rest of the data section, post-data), so a backup stays
 * usable without pgfleet.
 */
public final class RestoreGuide {
  private RestoreGuide() {}

  public static String render(Manifest m, List<ArtifactEntry> data, ArtifactEntry schema) {
    StringBuilder sb = new StringBuilder();
    int major = m.source().serverVersionNum() / 10000;
    sb.append("# Restoring backup ").append(m.backupId()).append(" without pgfleet\n\n");
    sb.append("Database `").append(m.database()).append("` of cluster `").append(m.cluster())
        .append("`, PostgreSQL ").append(m.source().serverVersion()).append(", snapshot `")
        .append(m.source().snapshot()).append("` at WAL ").append(m.source().walLsn()).append(".\n\n");
    sb.append("Needs: `pg_restore` and `psql` of PostgreSQL ").append(major)
        .append(" or newer, `zstd`, `sha256sum`, and a role allowed to create the objects (the original owners"
            + " must exist, or add `--no-owner` to every pg_restore line). Run every command from this folder"
            + " (the one holding this file); set the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD)"
            + " for the target server.\n\n");
    sb.append("`pgfleet restore --repo <repo> --backup ").append(m.backupId())
        .append(" --target postgresql://...` does the same, with table loads in parallel.\n\n");
    sb.append("## 1. Check the files\n\n```sh\nsha256sum -c <<'EOF'\n");
    sb.append(schema.sha256()).append("  ").append(schema.key()).append('\n');
    if (m.globals() != null) {
      sb.append(m.globals().sha256()).append("  ").append(m.globals().key()).append('\n');
    }
    for (ArtifactEntry a : data) {
      sb.append(a.sha256()).append("  ").append(a.key()).append('\n');
    }
    sb.append("EOF\n```\n\n");
    if (m.globals() != null) {
      // Not a sh block: it changes the whole server, so it is a step to choose, not one to run blindly.
      sb.append("Roles and tablespaces, on a server that lacks them (optional, before step 2): `")
          .append(m.globals().key()).append("` is the cluster's `pg_dumpall --globals-only --no-role-passwords`"
              + " output, without passwords (set them afterwards with `ALTER ROLE ... PASSWORD`). Run it as a"
              + " superuser with `psql -X -d postgres -f ").append(m.globals().key())
          .append("` (no ON_ERROR_STOP: errors for roles and tablespaces that already exist are expected and"
              + " harmless, but its ALTER ROLE lines do reset the attributes of roles that existed;"
              + " `pgfleet restore --with-globals` creates only what is missing). A tablespace's directory must"
              + " exist on the target server first.\n\n");
    }
    sb.append("## 2. Create the target database and the schema (tables, types, functions; no indexes yet)\n\n");
    sb.append("```sh\nexport TARGET=").append(shellQuote(m.database() + "_restored")).append('\n');
    sb.append("createdb --template=template0 --encoding=").append(shellQuote(m.source().encoding()))
        .append(" \"$TARGET\"\n");
    sb.append("pg_restore --section=pre-data --exit-on-error --single-transaction -d \"$TARGET\" ").append(schema.key())
        .append("\n```\n\n");
    sb.append("## 3. Load the table data\n\n");
    sb.append("Each file is the table's rows as `COPY ... TO STDOUT` text (UTF-8), compressed with zstd. "
        + "The lines are independent: run them in parallel if you like.\n\n```sh\n");
    for (ArtifactEntry a : data) {
      String settings = "SET client_encoding = 'UTF8'; SET row_security = off";
      String copy = Catalog.copyIn(a.table(), a.columns());
      sb.append("zstd -dc ").append(a.key())
          .append(" | psql -X -q -v ON_ERROR_STOP=1 -d \"$TARGET\" -c ").append(shellQuote(settings))
          .append(" -c ").append(shellQuote(copy)).append("   # ").append(a.rows()).append(" rows\n");
    }
    sb.append("```\n\n");
    sb.append("## 4. Sequence values and large objects, then indexes, constraints, triggers and materialized views\n\n");
    sb.append("```sh\npg_restore --section=data --exit-on-error --single-transaction -d \"$TARGET\" ")
        .append(schema.key()).append('\n');
    sb.append("pg_restore --section=post-data --exit-on-error -j 4 -d \"$TARGET\" ").append(schema.key())
        .append("\n```\n\n");
    sb.append("Row counts to expect, per file: see `manifest.json` (`data[].rows`).\n");
    return sb.toString();
  }

  /**
   * RESTORE.md of an archive-mode backup: check the files, create the database, then the one psql or pg_restore
   * command for the archive's format. pgfleet restore does not read these archives; the standard tools do.
   */
  public static String renderArchive(Manifest m) {
    Manifest.Archive a = m.archive();
    StringBuilder sb = new StringBuilder();
    int major = m.source().serverVersionNum() / 10000;
    sb.append("# Restoring backup ").append(m.backupId()).append(" (pg_dump archive)\n\n");
    sb.append("Database `").append(m.database()).append("` of cluster `").append(m.cluster())
        .append("`, PostgreSQL ").append(m.source().serverVersion()).append(", snapshot `")
        .append(m.source().snapshot()).append("` at WAL ").append(m.source().walLsn()).append(".\n\n");
    sb.append("A ").append(a.format()).append("-format pg_dump archive (`pg_dump --format=").append(a.format())
        .append(a.jobs() > 1 ? " -j " + a.jobs() : "")
        .append(a.args().isEmpty() ? "" : " " + String.join(" ", a.args().stream().map(RestoreGuide::shellWord).toList()))
        .append("`), taken under the snapshot above: `").append(a.key()).append("`.\n\n");
    String tool = a.format().equals("plain") ? "psql" : "pg_restore";
    sb.append("Needs: `").append(tool).append("` of PostgreSQL ").append(major)
        .append(" or newer, `createdb`, `sha256sum`, and a role allowed to create the objects (the original owners"
            + " must exist").append(a.format().equals("plain") ? "" : ", or add `--no-owner`")
        .append("). Run every command from this folder (the one holding this file); set the usual libpq variables"
            + " (PGHOST, PGPORT, PGUSER, PGPASSWORD) for the target server. `pgfleet restore` does not restore"
            + " archive-mode backups: these commands do.\n\n");
    if (a.args().contains("--data-only")) {
      sb.append("The archive holds rows only (`--data-only`): restore it into an existing database whose tables"
          + " exist and are empty (set TARGET to it); the commands below create no database.\n\n");
    }
    sb.append("## 1. Check the files\n\n```sh\nsha256sum -c <<'EOF'\n");
    for (ArtifactEntry f : a.files()) {
      sb.append(f.sha256()).append("  ").append(f.key()).append('\n');
    }
    sb.append("EOF\n```\n\n");
    sb.append("## 2. Create the target database and restore the archive\n\n");
    sb.append("```sh\nexport TARGET=").append(shellQuote(m.database() + "_restored")).append('\n');
    if (!a.args().contains("--data-only")) {
      sb.append("createdb --template=template0 --encoding=").append(shellQuote(m.source().encoding()))
          .append(" \"$TARGET\"\n");
    }
    sb.append(a.restoreCommand("\"$TARGET\"")).append("\n```\n");
    return sb.toString();
  }

  /**
   * RESTORE.md of an encrypted backup: the stored objects are ciphertext, so the standard tools need them decrypted
   * first; {@code pgfleet decrypt} writes them with a RESTORE.md of the plain layout, and the format is described
   * here so that a decryptor can be written without pgfleet.
   */
  public static String renderEncrypted(Manifest m) {
    StringBuilder sb = new StringBuilder();
    sb.append("# Restoring backup ").append(m.backupId()).append(" (encrypted)\n\n");
    // This file is stored in the clear: it names nothing the manifest seals (no server details, no tables).
    sb.append("Database `").append(m.database()).append("` of cluster `").append(m.cluster()).append("`.\n\n");
    sb.append("Every artifact of this backup is encrypted (`").append(m.encryption().format())
        .append("`) with a data key wrapped by the master key with id `").append(m.encryption().keyId())
        .append("` (the first 8 bytes of the SHA-256 of the 32-byte key, hex). The standard tools cannot read the"
            + " files here directly.\n\n");
    sb.append("## 1. Check the stored files (no key needed)\n\n```sh\nsha256sum -c <<'EOF'\n");
    for (ArtifactEntry a : m.artifacts()) {
      sb.append(a.sha256()).append("  ").append(a.key()).append('\n');
    }
    sb.append("EOF\n```\n\n");
    sb.append("## 2. Decrypt\n\n```sh\npgfleet decrypt --repo <repo> --backup ").append(m.backupId())
        .append(" --out ./plain --encryption-key-file <file holding key ").append(m.encryption().keyId())
        .append(">\n```\n\n");
    sb.append("`./plain` then holds the same files in the clear (same names), a `manifest.json` without encryption"
        + " and its own `RESTORE.md` with the `pg_restore`/`psql`/`zstd` commands; follow it from there.\n\n");
    sb.append("`pgfleet restore --repo <repo> --backup ").append(m.backupId())
        .append(" --target postgresql://... --encryption-key-file <file>` restores directly.\n\n");
    sb.append("## Writing your own decryptor\n\n");
    sb.append("1. Data key: base64-decode `encryption.wrappedKey` of `manifest.json` (60 bytes): nonce = bytes"
        + " 0-11, ciphertext+tag = bytes 12-59. AES-256-GCM-decrypt with the master key, 128-bit tag, AAD the"
        + " ASCII bytes `pgfleet-data-key-v1`: 32 bytes, the data key.\n");
    sb.append("2. Each artifact: a 16-byte header (`PGFE`, the byte 1, three zero bytes, an 8-byte nonce prefix),"
        + " then chunks of 65536 plaintext bytes stored as 65552 bytes (ciphertext and 16-byte tag); the last"
        + " chunk holds 0 to 65536 plaintext bytes (16 to 65552 stored bytes) and ends the file.\n");
    sb.append("3. Chunk i (from 0): AES-256-GCM with the data key, nonce = the 8-byte prefix followed by i as 4"
        + " bytes big-endian, AAD = the artifact's `key` from the manifest (UTF-8, e.g. `data/00001.0d269134.copy.zst`)"
        + " followed by i as 8 bytes big-endian and one byte, 1 for the last chunk and 0 for the others. Any"
        + " failing tag means the file is damaged, truncated or reordered: stop.\n");
    sb.append("4. The concatenated plaintext is the file described in docs/repository-format.md (for `data/` a zstd"
        + " frame of COPY text, for `schema.*.dump` a pg_dump custom archive, for `globals.*.sql` SQL).\n");
    sb.append("5. The manifest's tables, row counts, digests, source and selection are in its `sealed` field:"
        + " base64-decode it; nonce = bytes 0-11, the rest ciphertext and 16-byte tag. AES-256-GCM-decrypt with"
        + " the data key, AAD the ASCII bytes `pgfleet-sealed-manifest-v1:` followed by the backup id (`")
        .append(m.backupId()).append("`): JSON holding `source`, `selection`, `archiveArgs` and per artifact"
            + " (by `key`) its `table`, `columns`, `rows`, `rawBytes`, `contentDigest` and `chunk`.\n");
    return sb.toString();
  }

  private static String shellWord(String s) {
    return s.matches("[A-Za-z0-9_.=-]+") ? s : shellQuote(s);
  }

  /** Single-quotes for POSIX shells: safe for any identifier, including quotes and unicode. */
  static String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
