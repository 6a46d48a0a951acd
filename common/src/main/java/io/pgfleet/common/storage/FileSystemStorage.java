package io.pgfleet.common.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A repository in a local (or mounted) directory. Objects are written to a hidden temporary name in the target
 * directory, fsynced and renamed on commit, so a crash leaves either the old object or the new one, never half.
 */
public final class FileSystemStorage implements Storage {
  private static final String TMP_MARK = ".pgfleet-tmp-";
  private final Path root;

  private FileSystemStorage(Path root) {
    this.root = root;
  }

  /**
   * Opens (creating if needed) a repository directory and proves it writable with a probe file, so an unusable
   * repository fails before any database work starts.
   */
  public static FileSystemStorage open(Path root) throws StorageException {
    Path abs = root.toAbsolutePath().normalize();
    try {
      Files.createDirectories(abs);
    } catch (FileAlreadyExistsException e) {
      throw new StorageException("repository " + abs + " is a file, not a directory: choose a directory with --repo");
    } catch (AccessDeniedException e) {
      throw new StorageException("repository " + abs + " cannot be created: permission denied on " + e.getFile()
          + "; choose a directory you can write to with --repo");
    } catch (IOException e) {
      throw new StorageException("repository " + abs + " cannot be created: " + e + "; check the path given to --repo");
    }
    if (!Files.isDirectory(abs)) {
      throw new StorageException("repository " + abs + " is not a directory: choose a directory with --repo");
    }
    return new FileSystemStorage(abs);
  }

  /** Opens an existing repository for reading (list, verify, restore): a missing directory is an error here. */
  public static FileSystemStorage openExisting(Path root) throws StorageException {
    Path abs = root.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      throw new StorageException("repository " + abs + " does not exist: check the path given to --repo");
    }
    return new FileSystemStorage(abs);
  }

  /** Writes and removes a probe object; fails with a clear message when the directory is read-only or full. */
  public void checkWritable() throws StorageException {
    Path probe = root.resolve(TMP_MARK + "probe-" + UUID.randomUUID());
    try {
      Files.write(probe, new byte[] {1}, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      Files.delete(probe);
    } catch (AccessDeniedException e) {
      throw new StorageException("repository " + root + " is not writable (permission denied): "
          + "choose a directory you can write to with --repo");
    } catch (IOException e) {
      throw new StorageException("repository " + root + " is not writable (" + e.getMessage() + "): "
          + "check the disk and the path given to --repo");
    }
  }

  public Path root() {
    return root;
  }

  Path resolve(String key) throws StorageException {
    if (key.isEmpty() || key.startsWith("/") || key.contains("\\") || key.contains("\0")) {
      throw new StorageException("invalid object key '" + key + "'");
    }
    // Keys are canonical: one object, one key. No empty, '.' or '..' segment.
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new StorageException("invalid object key '" + key + "': empty, '.' or '..' path segment");
      }
    }
    Path p = root.resolve(key).normalize();
    if (!p.startsWith(root) || p.equals(root)) {
      throw new StorageException("object key '" + key + "' escapes the repository " + root);
    }
    return p;
  }

  @Override
  public ObjectWriter create(String key) throws IOException {
    Path target = resolve(key);
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling(TMP_MARK + target.getFileName() + "-" + UUID.randomUUID());
    FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16);
    return new ObjectWriter() {
      private boolean committed;
      private boolean closed;

      @Override
      public void write(int b) throws IOException {
        out.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      private IOException broken;

      @Override
      public void commit() throws IOException {
        // Safe to call again after a failure (the resilience layer retries a commit): a failed flush may have lost
        // buffered bytes, so only the rename is ever repeated.
        if (committed) {
          return;
        }
        if (broken != null) {
          throw new StorageException("object " + key + " cannot be committed: writing it failed ("
              + broken.getMessage() + "); write it again", broken);
        }
        if (!closed) {
          try {
            out.flush();
            ch.force(true);
            out.close();
          } catch (IOException e) {
            broken = e;
            throw e;
          }
          closed = true;
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        committed = true;
      }

      @Override
      public void close() throws IOException {
        if (!closed) {
          closed = true;
          try {
            out.close();
          } catch (IOException ignored) {
            // discarding anyway
          }
        }
        if (!committed) {
          Files.deleteIfExists(tmp);
        }
      }
    };
  }

  @Override
  public InputStream open(String key) throws IOException {
    try {
      return Files.newInputStream(resolve(key));
    } catch (NoSuchFileException e) {
      throw new StorageException("object " + key + " is missing from repository " + root);
    }
  }

  @Override
  public InputStream open(String key, long offset) throws IOException {
    if (offset < 0) {
      throw new IllegalArgumentException("negative offset " + offset + " reading object " + key);
    }
    FileChannel ch;
    try {
      ch = FileChannel.open(resolve(key), StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new StorageException("object " + key + " is missing from repository " + root);
    }
    try {
      ch.position(offset); // past the end, reads see end-of-file at once
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return java.nio.channels.Channels.newInputStream(ch);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    Path p = resolve(key);
    try {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      if (!a.isRegularFile()) {
        return Optional.empty(); // a directory is a key prefix, not an object (as on an object store)
      }
      return Optional.of(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    List<ObjectInfo> result = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return result;
    }
    // Walk from the deepest directory the prefix names, then filter by the full prefix.
    int cut = prefix.lastIndexOf('/');
    Path start = cut > 0 ? resolve(prefix.substring(0, cut)) : root;
    if (!Files.isDirectory(start)) {
      return result;
    }
    try (Stream<Path> walk = Files.walk(start)) {
      walk.filter(Files::isRegularFile).forEach(p -> {
        String key = root.relativize(p).toString().replace('\\', '/');
        if (key.startsWith(prefix) && !p.getFileName().toString().startsWith(TMP_MARK)) {
          try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            result.add(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()));
          } catch (IOException ignored) {
            // deleted while listing
          }
        }
      });
    }
    result.sort((a, b) -> a.key().compareTo(b.key()));
    return result;
  }

  @Override
  public void removeIncomplete(String prefix) throws IOException {
    int cut = prefix.lastIndexOf('/');
    Path start = cut > 0 ? resolve(prefix.substring(0, cut)) : root;
    if (!Files.isDirectory(start)) {
      return;
    }
    List<Path> stale = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(start)) {
      walk.filter(p -> p.getFileName().toString().startsWith(TMP_MARK))
          .filter(p -> root.relativize(p).toString().replace('\\', '/').startsWith(prefix))
          .forEach(stale::add);
    }
    for (Path p : stale) {
      Files.deleteIfExists(p);
    }
  }

  @Override
  public void delete(String key) throws IOException {
    Path p = resolve(key);
    Files.deleteIfExists(p);
    // Remove directories left empty, up to the root, so deleted backups leave no husks behind.
    Path dir = p.getParent();
    while (dir != null && !dir.equals(root)) {
      try (Stream<Path> s = Files.list(dir)) {
        if (s.findAny().isPresent()) {
          break;
        }
      } catch (NoSuchFileException e) {
        dir = dir.getParent();
        continue;
      }
      try {
        Files.delete(dir);
      } catch (IOException e) {
        break;
      }
      dir = dir.getParent();
    }
  }

  @Override
  public boolean createIfAbsent(String key, byte[] content) throws IOException {
    Path target = resolve(key);
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling(TMP_MARK + target.getFileName() + "-" + UUID.randomUUID());
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(content));
        ch.force(true);
      }
      // A hard link fails if the target exists: an atomic create-if-absent with the full content in place.
      Files.createLink(target, tmp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public String describe() {
    return root.toString();
  }
}
