import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ROOT } from "./child-process.js";

export interface BuiltCliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The built `gatehouse` in its own process, with only PATH and `env`: what Node reads at start alone
 * (NODE_EXTRA_CA_CERTS, a test's certificate authority) applies to it as it would to an operator's shell.
 */
export function runBuiltCli(args: readonly string[], env: Record<string, string>): Promise<BuiltCliRun> {
  return promisify(execFile)(process.execPath, ["apps/cli/bin/gatehouse.mjs", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}
