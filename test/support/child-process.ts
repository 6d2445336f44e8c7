import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root: entry points are given relative to it, and tsx is resolved from it. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A TypeScript entry point running in its own node process (tsx as a loader: one process, real signals). */
export interface TsProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far, for assertions and failure messages. */
  output(): string;
  readonly exited: Promise<Exit>;
  /** Sends `signal` and resolves with the exit, or rejects after `timeoutMs`. */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<Exit>;
  /** SIGKILL unless already gone; for cleanup. */
  kill(): Promise<void>;
}

/**
 * Only what a process needs: nothing from the shell or the test runner (NODE_OPTIONS, VITEST_*, …) leaks
 * into a test's process or a benchmark's measurement.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function spawnTs(entry: string, args: string[], env: Record<string, string>): TsProcess {
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // Should the test process itself end abruptly, the child does not outlive it.
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      process.off("exit", orphanGuard);
      resolve({ code, signal });
    });
    child.once("error", (error) => {
      output += String(error);
      resolve({ code: null, signal: null });
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    output: () => output,
    exited,
    async stop(signal, timeoutMs) {
      if (!gone()) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${entry} did not exit within ${timeoutMs} ms after ${signal}:\n${output}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (!gone()) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Runs an entry point to completion; resolves with its exit code and output. */
export async function runTs(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.once("close", (exitCode) => resolve(exitCode));
    child.once("error", (error) => {
      stderr += String(error);
      resolve(null);
    });
  });
  return { code, stdout, stderr };
}
