import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Keyring } from "./keyring.js";

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM envelopes for values at rest:
 *
 *     [version 1][key id length 1][key id][nonce 12][tag 16][ciphertext]
 *
 * A fresh random 96-bit nonce per value; the cache key and the key id are the associated data, so a value
 * copied under another cache key, or relabelled with another key id, fails authentication.
 */
export function seal(keyring: Keyring, cacheKey: string, plaintext: Buffer): Buffer {
  const { id, key } = keyring.newest;
  const idBytes = Buffer.from(id, "utf8");
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(associatedData(cacheKey, idBytes));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([
    Buffer.from([VERSION, idBytes.length]),
    idBytes,
    nonce,
    cipher.getAuthTag(),
    ciphertext,
  ]);
}

/** The plaintext, or why it cannot be had: a malformed envelope, an unknown key, a failed authentication. */
export function open(
  keyring: Keyring,
  cacheKey: string,
  envelope: Buffer,
): { plaintext: Buffer } | { failure: "malformed" | "unknown_key" | "unauthentic" } {
  if (envelope.length < 2 || envelope[0] !== VERSION) return { failure: "malformed" };
  const idLength = envelope[1] as number;
  const nonceAt = 2 + idLength;
  const tagAt = nonceAt + NONCE_BYTES;
  const dataAt = tagAt + TAG_BYTES;
  if (envelope.length < dataAt) return { failure: "malformed" };
  const idBytes = envelope.subarray(2, nonceAt);
  const sealingKey = keyring.get(idBytes.toString("utf8"));
  if (!sealingKey) return { failure: "unknown_key" };
  const decipher = createDecipheriv("aes-256-gcm", sealingKey.key, envelope.subarray(nonceAt, tagAt));
  decipher.setAAD(associatedData(cacheKey, idBytes));
  decipher.setAuthTag(envelope.subarray(tagAt, dataAt));
  try {
    return { plaintext: Buffer.concat([decipher.update(envelope.subarray(dataAt)), decipher.final()]) };
  } catch {
    // GCM's final() throws exactly when the tag does not match: tampered, truncated or misplaced data.
    return { failure: "unauthentic" };
  }
}

function associatedData(cacheKey: string, idBytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(cacheKey, "utf8"), Buffer.from([0]), idBytes]);
}
