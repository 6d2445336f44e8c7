/** The command line or the environment is wrong; the user must change it. Exit code 2. */
export class UsageError extends Error {
  readonly code = "cli.usage";
  readonly retryable = false;
  /** The flag or setting at fault, e.g. `--url` or `SCALEKIT_INTERCEPTOR_SECRET`, when there is one. */
  readonly setting: string | undefined;

  constructor(message: string, setting?: string) {
    super(message);
    this.name = "UsageError";
    this.setting = setting;
  }
}
