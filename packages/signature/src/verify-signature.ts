import { timingSafeEqual } from "node:crypto";
import { SignatureConfigError } from "./errors/signature-config-error.js";
import { joinedHeaderValue, singleHeaderValue } from "./header-values.js";
import { HmacSha256 } from "./hmac-sha256.js";
import { signatureDigests } from "./signed-content.js";
import { decodeSecret } from "./signing-secret.js";
import { parseTimestamp } from "./timestamp.js";
import type { VerifyResult } from "./verify-result.js";

/** Replay window, as in Scalekit's SDKs and Standard Webhooks: 5 minutes either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** A longer signature header is answered `no_matching_signature` without hashing anything. */
export const MAX_SIGNATURE_HEADER_LENGTH = 8 * 1024;
/** Space-separated entries examined in the signature header; later ones are ignored. */
export const MAX_SIGNATURE_ENTRIES = 32;

const VERSION_PREFIX = "v1,";
const DIGEST_BYTES = 32;
/** base64 of a 32-byte digest: 43 characters and one `=`. */
const SIGNATURE_LENGTH = 44;
const SPACE = " ";
const COMMA = 0x2c;

export interface VerifierOptions {
  /** Signing secrets (`whsec_<base64>`). Several while rotating: a signature made with any of them is valid. */
  secrets: readonly string[];
  /** How far in the past or the future a timestamp may be, in seconds. Default: 300. */
  toleranceSeconds?: number;
  /** Current time in milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/** Header values as Node delivers them (a duplicated header may arrive as an array). */
export interface SignatureHeaderValues {
  id?: string | string[];
  timestamp?: string | string[];
  signature?: string | string[];
}

export interface Verifier {
  /** Verifies one call over its raw body bytes. Never throws: every outcome is a `VerifyResult`. */
  verify(headers: SignatureHeaderValues, rawBody: Buffer | string): VerifyResult;
}

/**
 * Decodes the secrets once and returns a verifier for the request path. Throws `SignatureConfigError`
 * (code `malformed_secret`) when the list is empty or a secret does not decode, and `RangeError` for a
 * tolerance that is not a finite number of seconds ≥ 0: both are start-up failures.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { secrets } = options;
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new SignatureConfigError("no signing secret configured");
  }
  const hmac = new HmacSha256(secrets.map((secret, index) => decodeSecret(secret, index)));
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`toleranceSeconds must be a finite number >= 0, got ${tolerance}`);
  }
  const now = options.now ?? Date.now;
  // Scratch space for the decoded candidate signature and for each digest it is compared with. `verify` is
  // synchronous, so one of each per verifier is safe.
  const candidate = Buffer.alloc(DIGEST_BYTES);
  const expected = Buffer.alloc(DIGEST_BYTES);

  function matches(header: string, id: string, timestamp: number, body: Buffer | string): boolean {
    let digests: string[] | undefined;
    let start = 0;
    for (let examined = 0; examined < MAX_SIGNATURE_ENTRIES && start <= header.length; examined++) {
      let end = header.indexOf(SPACE, start);
      if (end === -1) end = header.length;
      // Like both official verifiers, an entry is `<version>,<signature>` and anything after a further
      // comma is ignored (`v1,<sig>,` is what Node makes of a duplicated header).
      const signatureStart = start + VERSION_PREFIX.length;
      const signatureEnd = signatureStart + SIGNATURE_LENGTH;
      if (
        signatureEnd <= end &&
        (signatureEnd === end || header.charCodeAt(signatureEnd) === COMMA) &&
        header.startsWith(VERSION_PREFIX, start)
      ) {
        const encoded = header.slice(signatureStart, signatureEnd);
        // Node's decoder skips characters outside the alphabet; fewer than 32 bytes cannot match.
        if (candidate.write(encoded, "base64") === DIGEST_BYTES) {
          // Hash only once a plausible candidate shows up: garbage headers cost no HMAC.
          digests ??= signatureDigests(hmac, id, timestamp, body);
          for (const digest of digests) {
            expected.write(digest, "latin1");
            // The bytes are compared in constant time. Only once they match is the spelling checked: the
            // canonical base64 alone is accepted, as standardwebhooks does (it compares strings), whereas
            // @scalekit-sdk/node also takes unpadded, URL-safe or non-canonical spellings of the same bytes.
            // Timing here reveals nothing: the caller already holds a valid signature.
            if (timingSafeEqual(candidate, expected) && encoded === expected.toString("base64")) return true;
          }
        }
      }
      start = end + 1;
    }
    return false;
  }

  function check(headers: SignatureHeaderValues, rawBody: Buffer | string): VerifyResult {
    if (headers === null || typeof headers !== "object") return { ok: false, reason: "missing_header" };
    const id = singleHeaderValue(headers.id);
    const timestampHeader = singleHeaderValue(headers.timestamp);
    const signature = joinedHeaderValue(headers.signature, MAX_SIGNATURE_ENTRIES);
    if (id === undefined || timestampHeader === undefined || signature === undefined) {
      return { ok: false, reason: "missing_header" };
    }
    const timestamp = parseTimestamp(timestampHeader);
    if (timestamp === undefined) return { ok: false, reason: "bad_timestamp" };
    const nowSeconds = Math.floor(now() / 1000);
    // Written as "not within" so that a NaN clock rejects rather than accepts.
    if (!(nowSeconds - timestamp <= tolerance)) return { ok: false, reason: "too_old" };
    if (!(timestamp - nowSeconds <= tolerance)) return { ok: false, reason: "too_new" };
    if (signature.length > MAX_SIGNATURE_HEADER_LENGTH) return { ok: false, reason: "no_matching_signature" };
    if (typeof rawBody !== "string" && !(rawBody instanceof Uint8Array)) {
      return { ok: false, reason: "no_matching_signature" };
    }
    if (!matches(signature, id, timestamp, rawBody)) return { ok: false, reason: "no_matching_signature" };
    return { ok: true, id, timestamp };
  }

  return {
    verify(headers, rawBody) {
      try {
        return check(headers, rawBody);
      } catch {
        // Unreachable by design; the hot path faces hostile input and must answer, not throw.
        return { ok: false, reason: "no_matching_signature" };
      }
    },
  };
}
