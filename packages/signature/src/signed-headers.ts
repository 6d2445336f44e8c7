import { randomBytes } from "node:crypto";
import { sign } from "./sign.js";
import { SIGNATURE_HEADERS, type SignatureHeaderName } from "./signature-headers.js";

export interface SignedHeadersInput {
  secret: string;
  body: Buffer | string;
  /** Default: a fresh random id, `msg_<22 base64url characters>`. */
  id?: string;
  /** Unix seconds. Default: now. */
  timestamp?: number;
}

/** The three headers of a signed interceptor call, ready to send (tests, the CLI, load generators). */
export function signedHeaders(input: SignedHeadersInput): Record<SignatureHeaderName, string> {
  const id = input.id ?? `msg_${randomBytes(16).toString("base64url")}`;
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    [SIGNATURE_HEADERS.id]: id,
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.signature]: sign({ secret: input.secret, id, timestamp, body: input.body }),
  };
}
