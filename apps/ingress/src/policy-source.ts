import { unwatchFile, watchFile } from "node:fs";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import {
  type CompiledPolicy,
  compilePolicy,
  loadVersionedPolicyFile,
  type Policy,
  PolicyError,
  policyVersion,
} from "@gatehouse/policy";
import type { Logger } from "@gatehouse/telemetry";

/** A policy ready to evaluate, and the version the audit records it under. */
export interface LoadedPolicy {
  readonly compiled: CompiledPolicy;
  /** The first 12 hex digits of the SHA-256 of the policy's text (or of its JSON when not from a file). */
  readonly version: string;
}

export type ReloadResult = "applied" | "unchanged" | "invalid";

/** Compiled with the registered enrichments: a `fact` condition naming another is refused (a `PolicyError`). */
export function loadedPolicy(
  policy: Policy,
  version = policyVersion(JSON.stringify(policy)),
  file?: string,
): LoadedPolicy {
  return {
    compiled: compilePolicy(policy, { enrichments: ENRICHMENTS, ...(file && { file }) }),
    version,
  };
}

/**
 * The policy in force. From a file, it is reloaded when the file changes (polled, which also sees Kubernetes'
 * ConfigMap symlink swaps) or on `reload()`: a valid new file replaces the whole policy between two requests;
 * an invalid one is logged with its problems and never replaces the running policy.
 */
export class PolicySource {
  #current: LoadedPolicy;
  #reloading: Promise<ReloadResult> | undefined;

  private constructor(
    current: LoadedPolicy,
    private readonly path: string | undefined,
    private readonly log: Logger,
    private readonly onReload: (result: ReloadResult) => void,
  ) {
    this.#current = current;
  }

  /** A fixed policy (the default one, or one given by a test): never reloaded. */
  static fixed(policy: Policy, log: Logger): PolicySource {
    return new PolicySource(loadedPolicy(policy), undefined, log, () => {});
  }

  /** Loads the file; a missing or invalid file at start-up is an error (the ingress does not start). */
  static async fromFile(
    path: string,
    log: Logger,
    onReload: (result: ReloadResult) => void = () => {},
  ): Promise<PolicySource> {
    const { policy, version } = await loadVersionedPolicyFile(path);
    return new PolicySource(loadedPolicy(policy, version, path), path, log, onReload);
  }

  get current(): LoadedPolicy {
    return this.#current;
  }

  /** Reads the file again and applies it when it is valid and different. Never rejects. */
  reload(): Promise<ReloadResult> {
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** Polls the file every `intervalMs` (0: never). */
  watch(intervalMs: number): void {
    if (this.path === undefined || intervalMs <= 0) return;
    watchFile(this.path, { interval: intervalMs, persistent: false }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.size !== before.size)
        void this.reload();
    });
  }

  close(): void {
    if (this.path !== undefined) unwatchFile(this.path);
  }

  async #reload(): Promise<ReloadResult> {
    const path = this.path;
    if (path === undefined) return "unchanged";
    let result: ReloadResult;
    try {
      const { policy, version } = await loadVersionedPolicyFile(path);
      if (version === this.#current.version) result = "unchanged";
      else {
        this.#current = loadedPolicy(policy, version, path);
        this.log.info({ policy: path, version: this.#current.version }, "policy reloaded");
        result = "applied";
      }
    } catch (error) {
      const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
      this.log.error(
        { policy: path, problems, version: this.#current.version },
        "policy file is invalid; the running policy stays in force",
      );
      result = "invalid";
    }
    this.onReload(result);
    return result;
  }
}
