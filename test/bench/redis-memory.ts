// What Gatehouse keeps in Redis, per item, written the way the processes write it: facts through
// `writeFacts` (what a worker stores), idempotency claims and velocity counters through `DecisionCache.read`
// (what the ingress does per request), stored answers and audit records through `AfterReplyWriter` with
// records shaped as the ingress builds them (interceptor-routes.ts + explanation.ts).
import { randomBytes } from "node:crypto";
import {
  AfterReplyWriter,
  type CacheKeys,
  cacheKeys,
  counterKeys,
  DecisionCache,
  encodeFact,
  writeFacts,
} from "@gatehouse/decision-cache";
import { auditExplanation } from "@gatehouse/ingress/src/explanation.js";
import { DEFAULT_POLICY, type PolicyFacts, policyVersion } from "@gatehouse/policy";
import { createRedis, type Redis } from "@gatehouse/redis";
import { type SampleEnrichment, sampleFact, ttlSeconds } from "./sample-facts.js";

export interface MemoryRow {
  readonly what: string;
  readonly items: number;
  /** Growth of INFO memory's used_memory per item (allocator overhead, key, expiry included). */
  readonly bytesPerItem: number;
  /** The stored value's own length, where there is one value per item. */
  readonly valueBytes?: number;
  readonly note: string;
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
/** MEMORY USAGE with every element counted (SAMPLES 0), not an estimate from five. */
const keyBytes = async (redis: Redis, key: string) =>
  Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
const interceptorId = () => `msg_${randomBytes(16).toString("base64url")}`;

async function inChunks(count: number, task: (n: number) => Promise<unknown>, size = 500): Promise<void> {
  for (let from = 0; from < count; from += size) {
    await Promise.all(Array.from({ length: Math.min(size, count - from) }, (_, i) => task(from + i)));
  }
}

const DISPOSABLE_MESSAGE =
  "Please sign up with a permanent email address; disposable addresses are not accepted.";
const POLICY_VERSION = policyVersion(JSON.stringify(DEFAULT_POLICY));

/** The `n`th PRE_SIGNUP decision as the ingress leaves it behind: 5% disposable (DENY), the rest ALLOW. */
function decisionEntry(keys: CacheKeys, n: number, bucket: number, withAnswer: boolean) {
  const denied = n % 20 === 3;
  const email = sampleFact(keys, "email-domain", n).fact as PolicyFacts["email-domain"] & object;
  const facts: PolicyFacts = {
    "email-domain": { ...email, disposable: denied },
    "ip-reputation": sampleFact(keys, "ip-reputation", n).fact as PolicyFacts["ip-reputation"],
  };
  const id = interceptorId();
  const json = JSON.stringify(
    denied ? { decision: "DENY", error: { message: DISPOSABLE_MESSAGE } } : { decision: "ALLOW" },
  );
  return {
    ...(withAnswer && { answer: { interceptorId: id, bucket, json } }),
    test: false,
    audit: {
      at: Date.now(),
      trigger: "PRE_SIGNUP",
      interceptorId: id,
      environmentId: "env_92561807201272162",
      decision: denied ? "DENY" : "ALLOW",
      reason: denied ? "email.disposable" : "policy.default",
      rule: denied ? "disposable-email" : null,
      cache: "hit",
      ms: Math.round((0.8 + (n % 13) / 10) * 1000) / 1000,
      test: false,
      policy: POLICY_VERSION,
      ...auditExplanation({ facts, team: {}, counts: {}, shadow: [] }),
    },
  };
}

export async function measureRedisMemory(redisUrl: string, items: number): Promise<MemoryRow[]> {
  const redis = createRedis({ url: redisUrl }, "bullmq");
  const rows: MemoryRow[] = [];
  const measure = async (what: string, note: string, write: () => Promise<number | undefined>) => {
    const before = await usedMemory(redis);
    const valueBytes = await write();
    const bytesPerItem = ((await usedMemory(redis)) - before) / items;
    rows.push({ what, items, bytesPerItem, ...(valueBytes !== undefined && { valueBytes }), note });
  };
  try {
    // Facts: one string key per subject and enrichment, with the enrichment's TTL.
    for (const enrichment of ["email-domain", "ip-reputation", "user-claims"] as SampleEnrichment[]) {
      const keys = cacheKeys(`mem${enrichment.replace(/\W/g, "")}`);
      const ttl = ttlSeconds(enrichment);
      await measure(`fact: ${enrichment}`, `one key per subject, TTL ${ttl} s`, async () => {
        const facts = Array.from({ length: items }, (_, n) => sampleFact(keys, enrichment, n));
        await writeFacts(redis, facts, ttl);
        return encodeFact(facts[0]!.fact, ttl).length;
      });
    }

    // The ingress' read: an idempotency claim per interceptor id (600 s), and a velocity counter window.
    const keys = cacheKeys("memread");
    const cache = new DecisionCache(redis, keys);
    const bucket = cache.bucket();
    await measure(
      "idempotency claim",
      `one key per interceptor id, TTL ${cache.idempotencyTtlMs / 1000} s`,
      async () => {
        await inChunks(items, () => cache.read(interceptorId(), [], [], bucket));
        return undefined;
      },
    );
    const claimBytes = rows.at(-1)!.bytesPerItem;
    const now = Date.now();
    await measure(
      "velocity counter window",
      "one key per subject and window (claim subtracted), TTL 2 windows + 1 s",
      async () => {
        await inChunks(items, (n) =>
          cache.read(
            interceptorId(),
            [],
            [counterKeys(keys, "PRE_SIGNUP:ip:3600", `81.0.${n >> 8}.${n & 255}`, 3_600, now)],
            bucket,
          ),
        );
        return undefined;
      },
    );
    const counterRow = rows.pop()!;
    rows.push({ ...counterRow, bytesPerItem: counterRow.bytesPerItem - claimBytes });

    // After the reply: the stored answer (one field of a per-minute hash) and the audit record, packed
    // `perBatch` records to an XADD entry — what one flush (5 ms) carries.
    for (const perBatch of [1, 16, 512]) {
      const batchKeys = cacheKeys(`memaudit${perBatch}`);
      const writer = new AfterReplyWriter(redis, batchKeys, { maxBatch: Math.max(512, perBatch) });
      const withAnswer = perBatch === 16;
      for (let from = 0; from < items; from += perBatch) {
        for (let n = from; n < Math.min(items, from + perBatch); n++)
          writer.push(decisionEntry(batchKeys, n, bucket, withAnswer));
        await writer.flush();
      }
      await writer.close();
      const stream = await keyBytes(redis, batchKeys.auditStream);
      rows.push({
        what: `audit record, ${perBatch} per stream entry`,
        items,
        bytesPerItem: stream / items,
        note: `MEMORY USAGE of the stream / records (${Math.ceil(items / perBatch)} entries)`,
      });
      if (withAnswer) {
        rows.push({
          what: "stored answer",
          items,
          bytesPerItem: (await keyBytes(redis, batchKeys.answers(bucket))) / items,
          valueBytes: decisionEntry(batchKeys, 0, bucket, true).answer!.json.length,
          note: "one field of the minute's answers hash (5% DENY with message), TTL 600 s",
        });
      }
    }
  } finally {
    await redis.quit();
  }
  return rows;
}
