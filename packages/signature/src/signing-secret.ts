import { randomBytes } from "node:crypto";
import { SignatureConfigError } from "./errors/signature-config-error.js";

// Padded standard base64 only. Every string this accepts decodes to the same bytes in Node's Buffer (used by
// @scalekit-sdk/node) and in @stablelib/base64 (used by standardwebhooks); anything else is decoded
// differently, or refused, by one of them, so it is refused here too.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The HMAC key of a signing secret. `whsec_<base64>` (any prefix before the first `_`, as @scalekit-sdk/node
 * allows) or a bare base64 secret (as standardwebhooks allows). Throws `SignatureConfigError`.
 */
export function decodeSecret(secret: string, secretIndex?: number): Buffer {
  const context = secretIndex === undefined ? {} : { secretIndex };
  if (typeof secret !== "string") {
    throw new SignatureConfigError("signing secret must be a string", context);
  }
  const underscore = secret.indexOf("_");
  const encoded = underscore === -1 ? secret : secret.slice(underscore + 1);
  if (encoded.length === 0 || !STRICT_BASE64.test(encoded)) {
    throw new SignatureConfigError(
      "signing secret must be whsec_ followed by padded standard base64 (or bare base64)",
      context,
    );
  }
  return Buffer.from(encoded, "base64");
}

/** A fresh signing secret: `whsec_` and the base64 of 32 random bytes. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}
