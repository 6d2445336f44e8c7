// One benchmark program's run: its results folder and logs, its timestamped progress lines, and the promise
// that every process it starts ends with it — on success, on an error, on Ctrl-C and on the global timeout.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/child-process.js";
import type { LoadGenerator } from "./load.js";
import { ProcessGroup } from "./processes.js";

export interface BenchSession {
  readonly startedAt: Date;
  /** The start time, usable in a file name. */
  readonly stamp: string;
  readonly resultsDir: string;
  readonly logDir: string;
  readonly group: ProcessGroup;
  /** Prints a line prefixed with the seconds since the start. */
  say(line: string): void;
  seconds(): number;
  /** The load generator, once started: closed with everything else. */
  load: LoadGenerator | undefined;
  /** Stops every process and exits with `code` (the message goes to stderr). */
  abort(why: string, code: number): never;
  /** The run is over: no more global timeout. */
  done(): void;
}

export function startSession(options: { folderPrefix?: string; timeoutS: number }): BenchSession {
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const resultsDir = join(ROOT, "test/bench/results", `${options.folderPrefix ?? ""}${stamp}`);
  const logDir = join(resultsDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const group = new ProcessGroup(logDir);
  const session: BenchSession = {
    startedAt,
    stamp,
    resultsDir,
    logDir,
    group,
    say: (line) => console.log(`[${seconds().toFixed(0).padStart(4)}s] ${line}`),
    seconds,
    load: undefined,
    abort(why, code) {
      console.error(`\nbench: ${why}; stopping every process.`);
      session.load?.close();
      group.killAll();
      process.exit(code);
    },
    done: () => clearTimeout(timer),
  };
  process.on("exit", () => {
    session.load?.close();
    group.killAll();
  });
  process.on("SIGINT", () => session.abort("interrupted", 130));
  process.on("SIGTERM", () => session.abort("terminated", 143));
  const timer = setTimeout(
    () => session.abort(`global timeout (${options.timeoutS} s)`, 2),
    options.timeoutS * 1000,
  );
  return session;
}

/** `npm run build` (turbo, errors only); stops the session if it fails. */
export function buildApps(session: BenchSession): void {
  session.say("building the apps (npm run build)");
  const build = spawnSync("npx", ["turbo", "run", "build", "--output-logs=errors-only"], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  if (build.status !== 0) session.abort("the build failed", 1);
}
