// Every process the benchmark starts, in one place, so that all of them end with it: on success, on an
// error, on Ctrl-C and on the global timeout.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { baseEnv, ROOT } from "../support/child-process.js";

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last few kilobytes of its output, for error messages. */
  tail(): string;
  readonly exited: Promise<void>;
}

const TAIL_BYTES = 8_192;

export class ProcessGroup {
  readonly #children: Managed[] = [];
  /** Processes started by someone else (Redis, by the test harness) that must not outlive the run either. */
  readonly #foreign = new Set<number>();

  constructor(private readonly logDir: string) {}

  /** Starts `command`, its stdout and stderr going to `<logDir>/<name>.log`. */
  spawn(name: string, command: string, args: string[], env: Record<string, string>): Managed {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...baseEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid === undefined) throw new Error(`${name} could not be started (${command})`);
    const log = createWriteStream(join(this.logDir, `${name}.log`));
    let tail = "";
    const keep = (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    void exited.then(() => log.end());
    const managed: Managed = { name, pid: child.pid, child, tail: () => tail, exited };
    this.#children.push(managed);
    return managed;
  }

  adopt(pid: number): void {
    this.#foreign.add(pid);
  }

  /** SIGTERM to each live child (in reverse start order), SIGKILL to those still there after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    const live = [...this.#children]
      .reverse()
      .filter((m) => m.child.exitCode === null && m.child.signalCode === null);
    for (const managed of live) managed.child.kill("SIGTERM");
    const timer = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(live.map((m) => m.exited)), timer]);
    this.#killChildren();
  }

  #killChildren(): void {
    for (const managed of this.#children) {
      if (managed.child.exitCode === null && managed.child.signalCode === null) managed.child.kill("SIGKILL");
    }
  }

  /** SIGKILL to everything still running, synchronously: safe in an `exit` handler. */
  killAll(): void {
    this.#killChildren();
    for (const pid of this.#foreign) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
