// The orchestrator's side of the load generator: a separate node process (so it never shares an event
// loop with a server), kept for the whole run and told what to do over its IPC channel.
import { type ChildProcess, fork } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CpuDelta } from "./cpu.js";
import type { PoolSpec } from "./requests.js";
import type { LatencySummary } from "./stats.js";

export interface RunSpec {
  readonly label: string;
  readonly baseUrl: string;
  readonly pool: PoolSpec;
  readonly secret: string;
  readonly connections: number;
  /** Requests per second in all; absent: closed loop, as fast as answers come back. */
  readonly rate?: number;
  /** With a rate: how long the measured part lasts. */
  readonly durationS?: number;
  /** Without a rate: how many requests the measured part sends. */
  readonly amount?: number;
  /** An unmeasured run first, at the same rate and with its own fresh requests. */
  readonly warmupS: number;
  /** `smooth`: every connection on its own schedule (wrk2-like); `autocannon`: its per-second quota. */
  readonly pacing: "smooth" | "autocannon";
  /** Processes whose CPU time is read at the start and end of the measured part. */
  readonly watch: Readonly<Record<string, number>>;
  readonly timeoutS: number;
  /** Also count the answers slower than this many milliseconds (a deadline). */
  readonly countOverMs?: number;
}

export interface RunResult {
  readonly label: string;
  /** Epoch ms of the measured part. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly seconds: number;
  /** Answers received (any status). */
  readonly responses: number;
  readonly achievedRate: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodes: Record<string, number>;
  /** Answers by the `decision` in their body: ALLOW, DENY, or other. */
  readonly decisions: Record<string, number>;
  /** From the send, or from when the request was due if its connection was still held then (pacing.ts). */
  readonly latency: LatencySummary;
  /**
   * Smooth pacing: how late the load generator sent the requests whose connection was free when they came
   * due (its own timers and event loop; not counted in `latency`).
   */
  readonly sendLate?: LatencySummary;
  /** Answers slower than `countOverMs`, when asked. */
  readonly over?: number;
  /** Requests sent a second time because the pre-signed pool ran out (should be 0). */
  readonly recycled: number;
  readonly cpu: CpuDelta;
}

type Reply = { id: number; result?: RunResult; error?: string };

export class LoadGenerator {
  #next = 0;
  readonly #pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();

  private constructor(readonly child: ChildProcess) {
    child.on("message", (message: Reply) => {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.result) pending.resolve(message.result);
      else pending.reject(new Error(`load generator: ${message.error}`));
    });
    child.once("exit", (code, signal) => {
      for (const pending of this.#pending.values())
        pending.reject(new Error(`load generator exited (${signal ?? code})`));
      this.#pending.clear();
    });
  }

  /** Forks `load-generator.ts` (tsx as a loader), its output going to `logFile`. */
  static start(logFile: string): LoadGenerator {
    const child = fork(fileURLToPath(new URL("./load-generator.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_ENV: "production",
        ...(process.env.BENCH_LATENCY_DUMP && { BENCH_LATENCY_DUMP: process.env.BENCH_LATENCY_DUMP }),
      },
    });
    const log = createWriteStream(logFile);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  run(spec: RunSpec): Promise<RunResult> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.send({ id, spec });
    });
  }

  close(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
  }
}
