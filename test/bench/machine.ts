// What the figures were measured on: they only compare within one machine and one run.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../support/child-process.js";
import { machineCpu } from "./cpu.js";

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly kernel: string;
  readonly node: string;
  readonly redis: string;
  readonly autocannon: string;
  readonly gitCommit: string;
}

const quiet = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, {
      encoding: "utf8",
      cwd: ROOT,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
};

export function describeMachine(): Machine {
  const autocannon = JSON.parse(readFileSync(join(ROOT, "node_modules/autocannon/package.json"), "utf8")) as {
    version: string;
  };
  const dirty = quiet("git", ["status", "--porcelain"]) === "" ? "" : " (with uncommitted changes)";
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    redis: /v=(\S+)/.exec(quiet("redis-server", ["--version"]))?.[1] ?? "unknown",
    autocannon: autocannon.version,
    gitCommit: `${quiet("git", ["rev-parse", "--short", "HEAD"])}${dirty}`,
  };
}

/** Cores kept busy by whatever runs on the machine, or taken by its host, measured over `seconds`. */
async function busyCores(seconds: number): Promise<number> {
  const before = machineCpu();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = machineCpu();
  return (after.busy + after.stolen - before.busy - before.stolen) / seconds;
}

/**
 * Waits up to `maxWaitS` for other processes (another developer's test run, say) to leave the CPUs alone:
 * on a 2-core machine they disturb every figure. Returns the last measurement and how long it waited.
 */
export async function waitForQuiet(
  maxWaitS: number,
  threshold: number,
  say: (line: string) => void,
): Promise<{ otherCores: number; waitedS: number }> {
  const started = Date.now();
  let otherCores = await busyCores(2);
  while (otherCores >= threshold && Date.now() - started < maxWaitS * 1000) {
    say(
      `other processes keep ${otherCores.toFixed(2)} cores busy; waiting for a quiet machine (up to ${maxWaitS} s)`,
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    otherCores = await busyCores(2);
  }
  return { otherCores, waitedS: Math.round((Date.now() - started) / 1000) };
}
