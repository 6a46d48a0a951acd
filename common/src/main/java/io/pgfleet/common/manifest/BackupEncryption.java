package io.pgfleet.common.manifest;

/**
 * How a backup's artifacts are encrypted (docs/repository-format.md, "Encryption"). Nothing here is secret: the
 * data key is only stored wrapped by the master key, which never leaves the machines that hold it.
 *
 * @param format the artifact format, {@code aes256gcm-chunked-v1}
 * @param keyId which master key wrapped the data key: the first 8 bytes of the master key's SHA-256, hex
 * @param wrappedKey base64 of the 12-byte GCM nonce followed by the data key encrypted with the master key and the
 *     16-byte tag (60 bytes)
 */
public record BackupEncryption(String format, String keyId, String wrappedKey) {}
