import { createHmac, type KeyObject } from "node:crypto";

/**
 * HMAC-SHA256 over `${id}.${timestamp}.` followed by the body's raw bytes (a string body is UTF-8), the
 * Standard Webhooks signed content. The body is fed as is: never re-serialized, never decoded.
 */
export function signatureDigest(
  key: KeyObject | Buffer,
  id: string,
  timestamp: number,
  body: Buffer | Uint8Array | string,
): Buffer {
  return createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
}
