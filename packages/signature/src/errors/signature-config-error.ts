/** What went wrong with the configured secrets; never carries the secret itself. */
export interface SignatureConfigErrorContext {
  /** Position of the offending secret in `VerifierOptions.secrets`, when one secret is at fault. */
  secretIndex?: number;
}

/**
 * The signing secrets cannot be used: the list is empty or a secret does not decode. A configuration error,
 * raised at start-up by `createVerifier` (and by `sign` / `signedHeaders`), never by `verify`.
 */
export class SignatureConfigError extends Error {
  readonly code = "malformed_secret" as const;
  readonly retryable = false;
  readonly context: SignatureConfigErrorContext;

  constructor(message: string, context: SignatureConfigErrorContext = {}) {
    super(message);
    this.name = "SignatureConfigError";
    this.context = context;
  }
}
