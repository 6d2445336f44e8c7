// An open-loop load driver for the load test: sends at a fixed rate over a bounded pool of keep-alive
// connections, whatever the answers' latency, and reports every answer. Requests come from a generator the
// test supplies (pre-signed in batches), so signing costs next to nothing while the load runs.
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:http";

export interface LoadRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** What the test calls this request in its summary, e.g. `PRE_SIGNUP warm`. */
  readonly kind: string;
}

export interface LoadAnswer {
  readonly request: LoadRequest;
  readonly status: number;
  readonly text: string;
  /** From the moment the request was handed to the HTTP client to the last byte of the answer. */
  readonly ms: number;
  /** performance.now() when the answer was complete. */
  readonly at: number;
}

export interface LoadOptions {
  readonly port: number;
  /** Requests per second in all. */
  readonly rate: number;
  readonly durationMs: number;
  /** Keep-alive connections; requests beyond them queue in the client's agent (and their wait counts). */
  readonly connections: number;
  readonly next: () => LoadRequest;
  readonly onAnswer: (answer: LoadAnswer) => void;
  /** A request without an answer after this long is a transport error. */
  readonly timeoutMs?: number;
}

export interface LoadResult {
  readonly sent: number;
  readonly answered: number;
  readonly errors: readonly string[];
  /** The largest delay between when a request was due and when it was sent (the driver falling behind). */
  readonly maxLagMs: number;
  readonly seconds: number;
}

/** Sends `rate` requests per second for `durationMs`, then waits for the last answers. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const errors: string[] = [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  let sent = 0;
  let answered = 0;
  let maxLagMs = 0;
  let inFlight = 0;
  let drained: () => void = () => {};

  const settle = () => {
    inFlight--;
    if (inFlight === 0) drained();
  };
  const send = (load: LoadRequest) => {
    inFlight++;
    const started = performance.now();
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port: options.port,
        method: "POST",
        path: load.path,
        headers: { ...load.headers, "content-length": Buffer.byteLength(load.body) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const at = performance.now();
          answered++;
          options.onAnswer({
            request: load,
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            ms: at - started,
            at,
          });
          settle();
        });
        res.on("error", (error) => {
          errors.push(`${load.kind}: ${error.message}`);
          settle();
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) => {
      errors.push(`${load.kind}: ${error.message}`);
      settle();
    });
    req.end(load.body);
  };

  const startedAt = performance.now();
  const intervalMs = 1000 / options.rate;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const elapsed = Math.min(now - startedAt, options.durationMs);
      const due = Math.floor(elapsed / intervalMs);
      while (sent < due) {
        maxLagMs = Math.max(maxLagMs, now - (startedAt + sent * intervalMs));
        sent++;
        send(options.next());
      }
      if (now - startedAt >= options.durationMs) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  agent.destroy();
  return { sent, answered, errors, maxLagMs, seconds: (performance.now() - startedAt) / 1000 };
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** The q-quantile (0..1) of `values`, sorted ascending. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
