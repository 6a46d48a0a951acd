package io.pgfleet.common.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * One AES-256-GCM message as pgfleet stores it whole (a wrapped data key, a manifest's sealed part): a random
 * 12-byte nonce, then the ciphertext with its 16-byte tag. Artifacts use the chunked format instead
 * ({@link ChunkFormat}).
 */
final class GcmMessage {
  static final int NONCE_BYTES = 12;
  static final int TAG_BYTES = 16;
  private static final SecureRandom RANDOM = new SecureRandom();

  private GcmMessage() {}

  static byte[] seal(SecretKey key, byte[] aad, byte[] plain) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      c.updateAAD(aad);
      byte[] sealed = c.doFinal(plain);
      return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable in this JVM", e);
    }
  }

  /**
   * The plaintext of a message at least {@code NONCE_BYTES + TAG_BYTES} long.
   *
   * @throws AEADBadTagException when the tag does not verify: another key, another AAD, or changed bytes
   */
  static byte[] open(SecretKey key, byte[] aad, byte[] message) throws AEADBadTagException {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, message, 0, NONCE_BYTES));
      c.updateAAD(aad);
      return c.doFinal(message, NONCE_BYTES, message.length - NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable in this JVM", e);
    }
  }
}
