import { runCli } from "../cli.js";
import { type CliEnv, parseEnv } from "../env.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment an empty `process.env` gives, with overrides. */
export function testEnv(overrides: Partial<CliEnv> = {}): CliEnv {
  const parsed = parseEnv({});
  if (!parsed.ok) throw new Error(parsed.message);
  return { ...parsed.env, ...overrides };
}

/** Runs the command in this process, collecting what it writes. */
export async function runCliCollecting(argv: readonly string[], env: CliEnv): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, env, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}
