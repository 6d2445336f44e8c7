import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import { enrichmentsNamed } from "./enrichment-flag.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_NETWORK, EXIT_OK, EXIT_USAGE } from "./exit-codes.js";
import { type FileProblem, PROBLEMS_SHOWN, printProblems } from "./file-problems.js";
import { plural } from "./print.js";
import { readWarmFile } from "./warm-file.js";

/** How often `--wait` looks for the facts. */
const WAIT_POLL_MS = 250;
/** How often a long `--wait` says how far the workers are (on stderr). */
const WAIT_REPORT_MS = 5_000;
/** Fact keys read per MGET, and jobs added at once: a million subjects are not a million promises. */
const CHUNK = 1_000;

/** Up to `count` more items of `items`. */
function take<T>(items: Iterator<T>, count: number): T[] {
  const taken: T[] = [];
  while (taken.length < count) {
    const next = items.next();
    if (next.done) break;
    taken.push(next.value);
  }
  return taken;
}

/** What warming did for one enrichment. */
interface EnrichmentSummary {
  enrichment: string;
  subjects: number;
  cached: number;
  added: number;
  deduplicated: number;
  failed: number;
  /** With `--wait`: facts written by the end of the wait, of those asked for. */
  written?: number;
}

/**
 * `gatehouse warm <file>… [--enrichment <name>]… [--refresh] [--wait <s>] [--dry-run] [--json]`: asks the
 * workers, ahead of traffic, for the facts that requests carrying the file's values would need — every
 * registered enrichment whose `fromRequest` finds a subject in a line, each subject once — through the same
 * queues and deduplication as the ingress. Subjects whose fact is cached and not yet due for refresh are
 * skipped unless `--refresh`. `--wait` then waits up to that many seconds for the facts to be written. Exit
 * 0 done (with `--wait`: every fact written), 1 Redis unreachable or facts still missing after the wait, 2 a
 * problem in a file (nothing is enqueued) or on the command line.
 */
export async function warmCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(
    args,
    {
      enrichment: { type: "string", multiple: true },
      refresh: { type: "boolean" },
      wait: { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
    io,
  );
  if (!parsed) return EXIT_OK;
  const { values, positionals: files } = parsed;
  if (files.length === 0) throw new UsageError("warm: missing <file>: a .txt or .csv of emails and IPs");
  const waitSeconds = values.wait === undefined ? undefined : Number(values.wait);
  if (
    waitSeconds !== undefined &&
    !(Number.isInteger(waitSeconds) && waitSeconds >= 1 && waitSeconds <= 3_600)
  )
    throw new UsageError(
      `--wait: "${values.wait}" must be a whole number of seconds from 1 to 3600`,
      "--wait",
    );

  // Loaded on use: the enrichments and a Redis client would slow every other command's start.
  const [
    { cacheKeys, decodeFact },
    { Enqueuer, factKey },
    { getMany },
    { connectRedis, redisFailure, redisTarget },
  ] = await Promise.all([
    import("@gatehouse/decision-cache"),
    import("@gatehouse/enrichment-sdk"),
    import("@gatehouse/redis"),
    import("./cli-redis.js"),
  ]);
  const enrichments = await enrichmentsNamed(values.enrichment);

  // Each enrichment's subjects, once each, by fact key, gathered as the files stream in: what is held is the
  // distinct subjects, not the lines.
  const keys = cacheKeys(env.keyPrefix);
  const plans = enrichments.map((enrichment) => ({ enrichment, subjects: new Map<string, unknown>() }));
  let lines = 0;
  let problemCount = 0;
  const problems: { file: string; problem: FileProblem }[] = [];
  for (const file of files) {
    for await (const line of readWarmFile(file)) {
      if (line.problems) {
        problemCount += line.problems.length;
        for (const problem of line.problems)
          if (problems.length < PROBLEMS_SHOWN) problems.push({ file, problem });
        continue;
      }
      lines++;
      if (problemCount > 0) continue;
      for (const { enrichment, subjects } of plans) {
        const input = enrichment.fromRequest(line.request);
        if (input !== undefined) subjects.set(factKey(keys, enrichment, input), input);
      }
    }
  }
  if (problemCount > 0) {
    printProblems(io, problems, "enqueued", problemCount);
    return EXIT_USAGE;
  }

  const target = redisTarget(env);
  const redis = await connectRedis(target);
  const unreachable = (error: unknown): never => {
    throw redisFailure(target, error);
  };
  const enqueuer = new Enqueuer({ connection: redis, keyPrefix: keys.prefix });
  try {
    const summaries: EnrichmentSummary[] = [];
    const waiting = waitSeconds !== undefined && !values["dry-run"];
    // With --wait, the keys asked for and what each held then: the wait is over for a key once it holds
    // something else. Kept only then: the rest goes a chunk at a time, so memory follows the subjects.
    const before = new Map<string, string | null>();
    for (const { enrichment, subjects } of plans) {
      const summary: EnrichmentSummary = {
        enrichment: enrichment.name,
        subjects: subjects.size,
        cached: 0,
        added: 0,
        deduplicated: 0,
        failed: 0,
      };
      summaries.push(summary);
      const factKeys = subjects.keys();
      for (let chunk = take(factKeys, CHUNK); chunk.length > 0; chunk = take(factKeys, CHUNK)) {
        const stored = await getMany(redis, chunk).catch(unreachable);
        const now = Date.now();
        const toAsk: { key: string; held: string | null }[] = [];
        for (const [index, key] of chunk.entries()) {
          const held = stored[index] ?? null;
          const record = held === null ? undefined : decodeFact(held);
          // Not cached, or due for refresh (or --refresh): asked for.
          if (values.refresh === true || !record || now > record.refreshAt) toAsk.push({ key, held });
        }
        summary.cached += chunk.length - toAsk.length;
        if (values["dry-run"]) continue;
        const results = await Promise.all(
          toAsk.map(({ key }) => enqueuer.enqueue(enrichment, subjects.get(key))),
        );
        for (const [index, result] of results.entries()) {
          summary[result]++;
          const { key, held } = toAsk[index] as { key: string; held: string | null };
          if (result !== "failed" && waiting) before.set(key, held);
        }
      }
      if (summary.failed > 0 && redis.status !== "ready") unreachable(new Error("the connection was lost"));
    }

    let missing = 0;
    if (waiting) {
      const pending = await waitForNewValues(before, (waitSeconds as number) * 1000);
      missing = pending.length;
      const still = new Set(pending);
      for (const [index, { subjects }] of plans.entries()) {
        const summary = summaries[index] as EnrichmentSummary;
        let notWritten = 0;
        for (const key of subjects.keys()) if (still.has(key)) notWritten++;
        summary.written = summary.added + summary.deduplicated - notWritten;
      }
    }

    print(io, {
      files,
      lines,
      summaries,
      dryRun: values["dry-run"] === true,
      missing,
      waitSeconds,
      json: values.json === true,
    });
    return missing > 0 ? EXIT_NETWORK : EXIT_OK;
  } finally {
    await enqueuer.close();
    redis.disconnect();
  }

  /**
   * Polls until every key of `before` holds a value other than the one it held when asked for, or `ms` have
   * passed, saying on stderr every 5 s how far the workers are; returns the keys still waiting.
   */
  async function waitForNewValues(before: ReadonlyMap<string, string | null>, ms: number): Promise<string[]> {
    const until = Date.now() + ms;
    let reportAt = Date.now() + WAIT_REPORT_MS;
    let waiting = [...before.keys()];
    for (;;) {
      const current = await read(waiting).catch(unreachable);
      waiting = waiting.filter((key, index) => (current[index] ?? null) === before.get(key));
      const now = Date.now();
      if (waiting.length === 0 || now >= until) return waiting;
      if (now >= reportAt) {
        reportAt = now + WAIT_REPORT_MS;
        const done = (before.size - waiting.length).toLocaleString("en-US");
        io.stderr(`waiting for the workers: ${done} of ${plural(before.size, "fact")} written\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
  }

  /** The values of `factKeys`, in order (null: none), a chunk of keys per command. */
  async function read(factKeys: string[]): Promise<(string | null)[]> {
    const values: (string | null)[] = [];
    for (let from = 0; from < factKeys.length; from += CHUNK)
      values.push(...(await getMany(redis, factKeys.slice(from, from + CHUNK))));
    return values;
  }
}

function print(
  io: CliIo,
  run: {
    files: string[];
    lines: number;
    summaries: EnrichmentSummary[];
    dryRun: boolean;
    missing: number;
    waitSeconds: number | undefined;
    json: boolean;
  },
): void {
  if (run.json) {
    const { files, lines, summaries, dryRun, missing } = run;
    io.stdout(`${JSON.stringify({ files, lines, dryRun, enrichments: summaries, missing })}\n`);
    return;
  }
  const out = [`${run.files.join(", ")}: ${plural(run.lines, "line")}`];
  for (const s of run.summaries) {
    const parts = [`${plural(s.subjects, "subject")}`, `${s.cached.toLocaleString("en-US")} cached`];
    if (run.dryRun)
      parts.push(`${(s.subjects - s.cached).toLocaleString("en-US")} to ask for (--dry-run: none asked)`);
    else {
      parts.push(`${plural(s.added, "job")} added`);
      if (s.deduplicated > 0) parts.push(`${s.deduplicated.toLocaleString("en-US")} already queued`);
      if (s.failed > 0) parts.push(`${s.failed.toLocaleString("en-US")} failed`);
      if (s.written !== undefined && s.added + s.deduplicated > 0)
        parts.push(`${s.written.toLocaleString("en-US")} written`);
    }
    out.push(`  ${s.enrichment}: ${parts.join(", ")}`);
  }
  if (run.waitSeconds !== undefined && !run.dryRun) {
    out.push(
      run.missing === 0
        ? "every fact asked for is written"
        : `${plural(run.missing, "fact")} still not written after ${run.waitSeconds} s: are the workers running?`,
    );
  }
  io.stdout(`${out.join("\n")}\n`);
}
