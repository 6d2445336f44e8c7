export { SignatureConfigError, type SignatureConfigErrorContext } from "./errors/signature-config-error.js";
export { parseSecrets } from "./parse-secrets.js";
export { type SignInput, sign } from "./sign.js";
export { SIGNATURE_HEADERS, type SignatureHeaderName } from "./signature-headers.js";
export { type SignedHeadersInput, signedHeaders } from "./signed-headers.js";
export { generateSecret } from "./signing-secret.js";
export type { SignatureFailure, VerifyResult } from "./verify-result.js";
export {
  createVerifier,
  DEFAULT_TOLERANCE_SECONDS,
  type SignatureHeaderValues,
  type Verifier,
  type VerifierOptions,
} from "./verify-signature.js";
