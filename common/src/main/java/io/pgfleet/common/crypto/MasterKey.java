package io.pgfleet.common.crypto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The 32-byte key that wraps each backup's data key. Given as 64 hex digits or as base64 (44 characters), in a
 * file or in {@code PGFLEET_ENCRYPTION_KEY}; surrounding whitespace is ignored. {@link #toString()} never shows it.
 */
public final class MasterKey {
  public static final String ENV = "PGFLEET_ENCRYPTION_KEY";

  private final byte[] key;
  private final String keyId;

  private MasterKey(byte[] key) {
    this.key = key.clone();
    this.keyId = keyIdOf(key);
  }

  public static MasterKey of(byte[] key) {
    if (key.length != 32) {
      throw new InvalidKeyException("an encryption key must be 32 bytes, got " + key.length);
    }
    return new MasterKey(key);
  }

  /** Parses hex or base64 text; {@code source} names where it came from in the error. */
  public static MasterKey parse(String text, String source) {
    String t = text.strip();
    byte[] k;
    if (t.matches("[0-9a-fA-F]+")) {
      if (t.length() != 64) {
        throw new InvalidKeyException(source + ": the encryption key must be 32 bytes (64 hex digits or 44 base64"
            + " characters), got " + t.length() + " hex digits");
      }
      k = HexFormat.of().parseHex(t);
    } else {
      try {
        k = Base64.getDecoder().decode(t);
      } catch (IllegalArgumentException e) {
        throw new InvalidKeyException(source + ": the encryption key is neither hex nor base64 (expected 64 hex"
            + " digits or 44 base64 characters for 32 bytes; make one with: head -c 32 /dev/urandom | base64)");
      }
      if (k.length != 32) {
        throw new InvalidKeyException(source + ": the encryption key must be 32 bytes, got " + k.length
            + " bytes of base64 (make one with: head -c 32 /dev/urandom | base64)");
      }
    }
    return new MasterKey(k);
  }

  public static MasterKey fromFile(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      throw new InvalidKeyException("cannot read the encryption key file " + file + ": "
          + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
    }
    return parse(text, "encryption key file " + file);
  }

  /**
   * The key from {@code file} when given, else from {@link #ENV} when set, else null (no encryption). The
   * environment value is the key itself, never a path.
   */
  public static MasterKey resolve(Path file, java.util.Map<String, String> env) {
    if (file != null) {
      return fromFile(file);
    }
    String v = env.get(ENV);
    return v == null || v.isBlank() ? null : parse(v, ENV);
  }

  public String keyId() {
    return keyId;
  }

  SecretKey secretKey() {
    return new SecretKeySpec(key, "AES");
  }

  static String keyIdOf(byte[] key) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(key);
      return HexFormat.of().formatHex(Arrays.copyOf(h, 8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "MasterKey[" + keyId + "]";
  }

  /** A key that cannot be used; the message is one line, for the user, and never holds key material. */
  public static final class InvalidKeyException extends IllegalArgumentException {
    public InvalidKeyException(String message) {
      super(message);
    }
  }
}
