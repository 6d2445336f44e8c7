/** A policy file that cannot be used; the message names the file, the line and the field. */
export class PolicyError extends Error {
  readonly code = "policy.invalid";
  readonly retryable = false;

  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid policy ${file}:\n  ${problems.join("\n  ")}`);
    this.name = "PolicyError";
  }
}
