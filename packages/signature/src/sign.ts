import { HmacSha256 } from "./hmac-sha256.js";
import { signatureDigests } from "./signed-content.js";
import { decodeSecret } from "./signing-secret.js";

export interface SignInput {
  secret: string;
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: Buffer | string;
}

/**
 * The `v1,<base64>` signature Scalekit would send for this call. For tests, the CLI and local tools; throws
 * `SignatureConfigError` for a malformed secret and `RangeError` for an empty id or a timestamp that is not
 * a non-negative whole number of seconds.
 */
export function sign(input: SignInput): string {
  if (typeof input.id !== "string" || input.id.length === 0) {
    throw new RangeError("id must be a non-empty string");
  }
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new RangeError("timestamp must be whole Unix seconds");
  }
  const hmac = new HmacSha256([decodeSecret(input.secret)]);
  const [digest] = signatureDigests(hmac, input.id, input.timestamp, input.body);
  return `v1,${Buffer.from(digest as string, "latin1").toString("base64")}`;
}
