// The load generator process: forked by load.ts, runs autocannon runs on request over IPC. It signs each
// run's requests just before the run (fresh interceptor ids, timestamps well inside the replay window) and
// reads the watched processes' CPU time at the exact start and end of the measured part.
import { appendFileSync } from "node:fs";
import autocannon from "autocannon";
import { delta, snapshot } from "./cpu.js";
import type { RunResult, RunSpec } from "./load.js";
import { smoothPacer } from "./pacing.js";
import { buildPool, routeOf, type SignedRequest } from "./requests.js";
import { summarize } from "./stats.js";

const decisionOf = (body: string) =>
  body.startsWith('{"decision":"ALLOW"') ? "ALLOW" : body.startsWith('{"decision":"DENY"') ? "DENY" : "other";

/**
 * One autocannon run over `pool`. With `measureAfterS`, the load runs without a break from the start and
 * only what happens after that many seconds is measured (answers, errors, CPU): the warm-up and the
 * measured part share connections and never leave the servers idle in between.
 */
async function runOnce(
  spec: RunSpec,
  pool: SignedRequest[],
  options: { durationS?: number; amount?: number; measureAfterS?: number },
): Promise<RunResult> {
  const watch = { ...spec.watch, loadgen: process.pid };
  let measuring = !options.measureAfterS;
  let before = snapshot(watch);
  let startedAt = Date.now();
  let lastAnswerAt = startedAt;
  let errors = 0;
  let timeouts = 0;
  let cursor = 0;
  let recycled = 0;
  const latencies: number[] = [];
  const sendLate: number[] = [];
  const answeredAt: number[] = [];
  const statusCodes: Record<string, number> = {};
  const decisions: Record<string, number> = { ALLOW: 0, DENY: 0, other: 0 };
  const request: autocannon.Request = {
    method: "POST",
    path: routeOf(spec.pool),
    setupRequest: (req) => {
      if (cursor >= pool.length) recycled++;
      const next = pool[cursor++ % pool.length]!;
      return { ...req, headers: next.headers, body: next.body };
    },
    onResponse: (status, body) => {
      if (!measuring) return;
      lastAnswerAt = Date.now();
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      const decision = decisionOf(body);
      decisions[decision] = (decisions[decision] ?? 0) + 1;
    },
  };
  const paced = spec.rate !== undefined && spec.pacing === "smooth";
  const record = (ms: number) => {
    if (!measuring) return;
    latencies.push(ms);
    answeredAt.push(performance.now());
  };
  const pacer = paced
    ? smoothPacer(spec.rate!, spec.connections, record, (ms) => measuring && sendLate.push(ms))
    : undefined;

  const mark = options.measureAfterS
    ? setTimeout(() => {
        measuring = true;
        before = snapshot(watch);
        startedAt = Date.now();
      }, options.measureAfterS * 1000)
    : undefined;
  // At run time the instance is an event emitter that is also a thenable of the result.
  const instance = autocannon({
    url: spec.baseUrl,
    connections: spec.connections,
    pipelining: 1,
    timeout: spec.timeoutS,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationS ?? 1 }),
    ...(spec.rate !== undefined && !paced && { overallRate: spec.rate }),
    // The smooth pacer sends on its own schedule: each connection gets its own request object, so a
    // deferred send never writes a buffer another connection built meanwhile.
    ...(pacer && {
      setupClient: (client: autocannon.Client) => {
        client.setRequests([{ ...request }]);
        pacer.setupClient(client);
      },
    }),
    requests: [request],
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  if (!pacer) instance.on("response", (_client, _status, _bytes, ms: number) => record(ms));
  instance.on("reqError", (error: Error) => {
    if (!measuring) return;
    errors++;
    if (error.message === "request timed out") timeouts++;
  });
  await instance;
  clearTimeout(mark);
  // A run of a set amount ends with its last answer: autocannon resolves only at its next whole second,
  // which made every closed-loop throughput amount ÷ a whole number of seconds (13,333, 10,000, 8,000).
  const endedAt = options.amount !== undefined ? lastAnswerAt : Date.now();
  const after = snapshot(watch);

  const responses = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
  // Debugging aid: BENCH_LATENCY_DUMP=<file> appends every answer's wall-clock time (epoch ms, to line up with
  // other samplers) and latency, one run per line.
  if (process.env.BENCH_LATENCY_DUMP) {
    const points = answeredAt.map((at, i) => [
      Math.round(performance.timeOrigin + at),
      Number(latencies[i]!.toFixed(3)),
    ]);
    appendFileSync(process.env.BENCH_LATENCY_DUMP, `${JSON.stringify({ label: spec.label, points })}\n`);
  }
  return {
    label: spec.label,
    startedAt,
    endedAt,
    seconds: (endedAt - startedAt) / 1000,
    responses,
    achievedRate: responses / ((endedAt - startedAt) / 1000),
    errors,
    timeouts,
    non2xx: Object.entries(statusCodes)
      .filter(([status]) => !status.startsWith("2"))
      .reduce((sum, [, count]) => sum + count, 0),
    statusCodes,
    decisions,
    latency: summarize(latencies),
    ...(paced && { sendLate: summarize(sendLate) }),
    ...(spec.countOverMs !== undefined && { over: latencies.filter((ms) => ms > spec.countOverMs!).length }),
    recycled,
    cpu: delta(before, after),
  };
}

async function run(spec: RunSpec): Promise<RunResult> {
  const slack = 3 * spec.connections + 64;
  if (spec.amount !== undefined) {
    return runOnce(spec, buildPool(spec.pool, spec.amount + slack, spec.secret), { amount: spec.amount });
  }
  const warmupS = spec.rate !== undefined ? spec.warmupS : 0;
  const totalS = warmupS + (spec.durationS ?? 1);
  const pool = buildPool(spec.pool, Math.ceil((spec.rate ?? 20_000) * totalS * 1.1) + slack, spec.secret);
  return runOnce(spec, pool, { durationS: totalS, measureAfterS: warmupS });
}

process.on("message", (message: { id: number; spec: RunSpec }) => {
  run(message.spec).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) =>
      process.send?.({ id: message.id, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.on("disconnect", () => process.exit(0));
