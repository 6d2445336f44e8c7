import type { HmacSha256 } from "./hmac-sha256.js";

/**
 * The signatures of one call under each key, as 32-byte strings ("latin1"): HMAC-SHA256 over
 * `${id}.${timestamp}.` followed by the body's raw bytes (a string body is UTF-8), the Standard Webhooks
 * signed content. The body is fed as is: never re-serialized, never decoded.
 */
export function signatureDigests(
  hmac: HmacSha256,
  id: string,
  timestamp: number,
  body: Uint8Array | string,
): string[] {
  return hmac.digests(`${id}.${timestamp}.`, body);
}
