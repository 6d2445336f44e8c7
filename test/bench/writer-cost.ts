// What the after-reply writes cost Redis per request: `AfterReplyWriter` fed at a fixed rate, the ingress'
// way (flush every 20 ms or at 64 entries), against a Redis with production persistence, for each kind of
// entry the ingress leaves behind: Redis' CPU per entry, from /proc. (The ingress' side of the same work is
// in `npm run bench`'s CPU profile and its ingress column.)
import { type AfterReplyEntry, AfterReplyWriter, cacheKeys } from "@gatehouse/decision-cache";
import { createRedis } from "@gatehouse/redis";
import { cpuSeconds } from "./cpu.js";
import { decisionEntry } from "./redis-memory.js";
import { median } from "./stats.js";

export interface WriterCostRow {
  readonly kind: string;
  readonly entries: number;
  /** Median over the rounds. */
  readonly redisUsPerEntry: number;
  readonly rounds: readonly number[];
}

type Kind = {
  readonly kind: string;
  readonly entry: (n: number) => AfterReplyEntry;
  readonly claimFirst: boolean;
};

const KINDS: readonly Kind[] = [
  {
    kind: "answered from memory: the claim holds the answer (SET NX) + audit record",
    entry: (n) => decisionEntry(n, true),
    claimFirst: false,
  },
  {
    kind: "answered after a read: the answer fills the read's claim (SET XX) + audit record",
    entry: (n) => {
      const entry = decisionEntry(n, true);
      return {
        ...entry,
        answer: { ...(entry.answer as NonNullable<AfterReplyEntry["answer"]>), claim: false },
      };
    },
    claimFirst: true,
  },
  {
    kind: "audit record only (a repeat, a refused request)",
    entry: (n) => decisionEntry(n, false),
    claimFirst: false,
  },
];

/** `rounds` windows of `seconds` per kind, kinds taking turns, at `ratePerS` entries a second. */
export async function measureWriterCost(options: {
  readonly redisUrl: string;
  readonly redisPid: number;
  readonly ratePerS: number;
  readonly seconds: number;
  readonly rounds: number;
}): Promise<WriterCostRow[]> {
  const redis = createRedis({ url: options.redisUrl }, "bullmq");
  const keys = cacheKeys("writercost");
  const writer = new AfterReplyWriter(redis, keys);
  const perRound = new Map<string, number[]>();
  const count = Math.round(options.ratePerS * options.seconds);
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const { kind, entry, claimFirst } of KINDS) {
        const entries = Array.from({ length: count }, (_, n) => entry(n));
        if (claimFirst) {
          // What the read script leaves: an empty claim per id, written before the window.
          for (let from = 0; from < count; from += 1_000) {
            const pipeline = redis.pipeline();
            for (const { answer } of entries.slice(from, from + 1_000))
              pipeline.set(keys.idempotency(answer?.interceptorId ?? ""), "", "PX", 600_000);
            await pipeline.exec();
          }
        }
        const redisBefore = cpuSeconds(options.redisPid) ?? 0;
        // Paced as requests arrive: a few entries every millisecond.
        const started = performance.now();
        let pushed = 0;
        while (pushed < count) {
          const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * options.ratePerS));
          for (; pushed < due; pushed++) writer.push(entries[pushed] as AfterReplyEntry);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await writer.close(10_000);
        const redisSeconds = (cpuSeconds(options.redisPid) ?? 0) - redisBefore;
        perRound.set(kind, [...(perRound.get(kind) ?? []), (redisSeconds * 1e6) / count]);
        await redis.flushdb();
      }
    }
  } finally {
    await writer.close(1_000);
    await redis.quit();
  }
  return KINDS.map(({ kind }) => {
    const rounds = perRound.get(kind) ?? [];
    return { kind, entries: count, redisUsPerEntry: median(rounds), rounds };
  });
}
