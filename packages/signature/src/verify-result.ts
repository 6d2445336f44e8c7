/**
 * Why a request was not verified. `malformed_secret` is never returned by `verify` (secrets are decoded once,
 * by `createVerifier`, which throws `SignatureConfigError` instead); it is part of the vocabulary so callers
 * can log a configuration failure with the same codes.
 */
export type SignatureFailure =
  | "missing_header"
  | "bad_timestamp"
  | "too_old"
  | "too_new"
  | "malformed_secret"
  | "no_matching_signature";

export type VerifyResult =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: SignatureFailure };
