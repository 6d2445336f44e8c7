// CPU time and memory of processes, read from /proc: the figure that holds on a 2-core machine is CPU time
// per request at a fixed rate, summed over the processes that serve it.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const getconf = (name: string, fallback: number) => {
  try {
    return Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim()) || fallback;
  } catch {
    return fallback;
  }
};

/** Clock ticks per second of /proc/<pid>/stat (usually 100). */
const CLK_TCK = getconf("CLK_TCK", 100);
const PAGE_SIZE = getconf("PAGESIZE", 4096);

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process has used, all threads, plus the children it has waited for (Redis' AOF rewrites).
 * The threads' time is the scheduler's own count, in nanoseconds (/proc/<pid>/task/<tid>/schedstat): utime +
 * stime in /proc/<pid>/stat are the same time rounded to clock ticks (10 ms), too coarse for a window of a
 * second or two. The children's time exists only in ticks (cutime + cstime). Undefined when the process is gone.
 */
export function cpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  // After the name: [0] state … [11] utime [12] stime [13] cutime [14] cstime (fields 14–17 of proc(5)).
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((index) => Number(fields[index] ?? 0));
  const threads = threadsOnCpuSeconds(pid);
  return (threads ?? ((utime ?? 0) + (stime ?? 0)) / CLK_TCK) + ((cutime ?? 0) + (cstime ?? 0)) / CLK_TCK;
}

/** Seconds on a CPU of the process' live threads, summed; undefined where schedstat is not readable. */
function threadsOnCpuSeconds(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
    return Number.isFinite(ns) ? ns / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Seconds the process' main thread spent runnable but waiting for a CPU (/proc/<pid>/schedstat): on a
 * 2-core machine shared with the load generator, this is latency no code change removes.
 */
function runQueueWaitSeconds(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e9;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes, from /proc/<pid>/statm. */
export function rssBytes(pid: number): number | undefined {
  try {
    const resident = readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1];
    return Number(resident) * PAGE_SIZE;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of the whole machine, from the first line of /proc/stat: `busy`, run by its processes and its
 * kernel; `stolen`, taken by the hypervisor for other guests while this one's cores had work (steal) — other
 * tenants of the host, whom no process here accounts for.
 */
export function machineCpu(): { busy: number; stolen: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const stolen = ticks[7] ?? 0;
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: (total - idle - stolen) / CLK_TCK, stolen: stolen / CLK_TCK, total: total / CLK_TCK };
}

export type CpuSnapshot = {
  readonly at: number;
  readonly byName: Record<string, number>;
  readonly waitByName: Record<string, number>;
  readonly machine: number;
  readonly stolen: number;
};

/** CPU seconds of every named process, and of the machine, now. */
export function snapshot(pids: Readonly<Record<string, number>>): CpuSnapshot {
  const byName: Record<string, number> = {};
  const waitByName: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    byName[name] = cpuSeconds(pid) ?? Number.NaN;
    waitByName[name] = runQueueWaitSeconds(pid) ?? Number.NaN;
  }
  const machine = machineCpu();
  return { at: performance.now(), byName, waitByName, machine: machine.busy, stolen: machine.stolen };
}

export interface CpuDelta {
  readonly seconds: number;
  /** CPU seconds used by each process in the interval. */
  readonly byName: Record<string, number>;
  /** Seconds each process' main thread waited for a CPU while runnable. */
  readonly waitByName: Record<string, number>;
  /** Cores the whole machine kept busy on average. */
  readonly machineCores: number;
  /** Cores the host gave other guests while this machine had work for them (steal). */
  readonly stolenCores: number;
}

export function delta(before: CpuSnapshot, after: CpuSnapshot): CpuDelta {
  const byName: Record<string, number> = {};
  const waitByName: Record<string, number> = {};
  for (const name of Object.keys(before.byName)) {
    byName[name] = (after.byName[name] ?? Number.NaN) - (before.byName[name] ?? Number.NaN);
    waitByName[name] = (after.waitByName[name] ?? Number.NaN) - (before.waitByName[name] ?? Number.NaN);
  }
  const seconds = (after.at - before.at) / 1000;
  return {
    seconds,
    byName,
    waitByName,
    machineCores: (after.machine - before.machine) / seconds,
    stolenCores: (after.stolen - before.stolen) / seconds,
  };
}

/** Cores used meanwhile by processes outside `d.byName` (other users' test runs): they disturb every figure. */
export function otherCores(d: CpuDelta): number {
  const ours = Object.values(d.byName).reduce((sum, value) => sum + value, 0);
  return Math.max(0, d.machineCores - ours / d.seconds);
}
