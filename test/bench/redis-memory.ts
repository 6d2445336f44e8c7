// What Gatehouse keeps in Redis, per item, written the way the processes write it: facts through
// `writeFacts` (what a worker stores), velocity counters through the counter script, idempotency claims
// holding their answers and audit records through `AfterReplyWriter` (what the ingress leaves per request
// answered from memory) with records shaped as the ingress builds them (interceptor-routes.ts +
// explanation.ts).
import { randomBytes } from "node:crypto";
import {
  AfterReplyWriter,
  cacheKeys,
  counterKeys,
  DecisionCache,
  encodeFact,
  writeFacts,
} from "@gatehouse/decision-cache";
import type { Decided } from "@gatehouse/ingress/src/decide.js";
import { auditRecord } from "@gatehouse/ingress/src/explanation.js";
import { DEFAULT_POLICY, type PolicyFacts, policyVersion } from "@gatehouse/policy";
import { createRedis, type Redis } from "@gatehouse/redis";
import { type SampleEnrichment, sampleFact, ttlSeconds } from "./sample-facts.js";

export interface MemoryRow {
  readonly what: string;
  readonly items: number;
  /**
   * Growth of INFO memory's used_memory per item, each kind written into a database of its own: key, value,
   * expiry, allocator overhead and the growth of the keyspace's hash tables, amortized.
   */
  readonly bytesPerItem: number;
  /** MEMORY USAGE … SAMPLES 0 per item (averaged over a sample of keys, or the one key / its items). */
  readonly usageBytes: number;
  /** The stored value's own length, where there is one value per item. */
  readonly valueBytes?: number;
  readonly note: string;
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
/** MEMORY USAGE with every element counted (SAMPLES 0), not an estimate from five. */
const keyBytes = async (redis: Redis, key: string) =>
  Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
const averageKeyBytes = async (redis: Redis, keys: readonly string[]) => {
  const sample = keys.filter((_, n) => n % Math.max(1, Math.floor(keys.length / 200)) === 0);
  const sizes = await Promise.all(sample.map((key) => keyBytes(redis, key)));
  return sizes.reduce((sum, size) => sum + size, 0) / sample.length;
};
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
export function decisionEntry(n: number, withAnswer: boolean) {
  const denied = n % 20 === 3;
  const email = sampleFact(cacheKeys(), "email-domain", n).fact as PolicyFacts["email-domain"] & object;
  const facts: PolicyFacts = {
    "email-domain": { ...email, disposable: denied },
    "ip-reputation": sampleFact(cacheKeys(), "ip-reputation", n).fact as PolicyFacts["ip-reputation"],
  };
  const id = interceptorId();
  const json = JSON.stringify(
    denied ? { decision: "DENY", error: { message: DISPOSABLE_MESSAGE } } : { decision: "ALLOW" },
  );
  const decided: Decided = {
    about: { trigger: "PRE_SIGNUP", interceptorId: id, environmentId: "env_92561807201272162", test: false },
    verdict: {
      json,
      decision: denied ? "DENY" : "ALLOW",
      reason: denied ? "email.disposable" : "policy.default",
      rule: denied ? "disposable-email" : undefined,
    },
    cache: "hit",
    counted: true,
    policyVersion: POLICY_VERSION,
    explanation: { facts, team: {}, counts: new Map(), shadow: [], compared: new Map() },
  };
  return {
    answer: withAnswer ? { interceptorId: id, json, claim: true } : undefined,
    test: false,
    audit: auditRecord(decided, 0.8 + (n % 13) / 10),
  };
}

type Written = { readonly keys: readonly string[]; readonly perKey: boolean; readonly valueBytes?: number };

export async function measureRedisMemory(redisUrl: string, items: number): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  let db = 0;
  /** Runs `write` against a database of its own, so each kind's keyspace grows from empty. */
  const measure = async (what: string, note: string, write: (redis: Redis) => Promise<Written>) => {
    const redis = createRedis({ url: `${redisUrl}/${++db}` }, "bullmq");
    try {
      const before = await usedMemory(redis);
      const written = await write(redis);
      const bytesPerItem = ((await usedMemory(redis)) - before) / items;
      const usageBytes = written.perKey
        ? await averageKeyBytes(redis, written.keys)
        : (await Promise.all(written.keys.map((key) => keyBytes(redis, key)))).reduce((a, b) => a + b, 0) /
          items;
      rows.push({
        what,
        items,
        bytesPerItem,
        usageBytes,
        ...(written.valueBytes !== undefined && { valueBytes: written.valueBytes }),
        note,
      });
    } finally {
      await redis.quit();
    }
  };

  // Facts: one string key per subject and enrichment, with the enrichment's TTL.
  for (const enrichment of ["email-domain", "ip-reputation", "user-claims"] as SampleEnrichment[]) {
    const ttl = ttlSeconds(enrichment);
    await measure(`fact: ${enrichment}`, `one key per subject, TTL ${ttl} s`, async (redis) => {
      const facts = Array.from({ length: items }, (_, n) => sampleFact(cacheKeys(), enrichment, n));
      await writeFacts(redis, facts, ttl);
      return {
        keys: facts.map((fact) => fact.key),
        perKey: true,
        valueBytes: encodeFact(facts[0]!.fact, ttl).length,
      };
    });
  }

  const keys = cacheKeys();
  // A velocity counter's window, through the counter script the cluster read runs (the same INCR and
  // PEXPIRE the one-Redis read script does), so no claim is written beside it.
  const now = Date.now();
  await measure(
    "velocity counter window",
    "one key per subject and window, TTL 2 windows + 1 s",
    async (redis) => {
      new DecisionCache(redis, keys); // defines the counter script on this connection
      const counters = Array.from({ length: items }, (_, n) =>
        counterKeys(keys, "PRE_SIGNUP:ip:3600", `81.0.${n >> 8}.${n & 255}`, 3_600, now),
      );
      const counting = redis as unknown as {
        gatehouseCount(current: string, previous: string, ttlMs: number): Promise<unknown>;
      };
      await inChunks(items, (n) =>
        counting.gatehouseCount(counters[n]!.current, counters[n]!.previous, counters[n]!.ttlMs),
      );
      return { keys: counters.map((counter) => counter.current), perKey: true };
    },
  );

  // After the reply: the idempotency claim holding its answer, and the audit record, packed `perBatch`
  // records to an XADD entry (a flush, every 20 ms, carries at most 64).
  await measure(
    "idempotency claim with its answer",
    "one key per interceptor id (5% DENY with its message), TTL 600 s",
    async (redis) => {
      const writer = new AfterReplyWriter(redis, keys);
      const entries = Array.from({ length: items }, (_, n) => decisionEntry(n, true));
      for (const entry of entries) writer.push({ ...entry, audit: {} });
      await writer.close(60_000);
      await redis.del(keys.auditStream);
      return {
        keys: entries.map((entry) => keys.idempotency(entry.answer!.interceptorId)),
        perKey: true,
        valueBytes: entries[0]!.answer!.json.length,
      };
    },
  );
  for (const perBatch of [1, 16, 64]) {
    await measure(
      `audit record, ${perBatch} per stream entry`,
      `${Math.ceil(items / perBatch)} XADD entries`,
      async (redis) => {
        const writer = new AfterReplyWriter(redis, keys, { maxBatch: perBatch });
        for (let n = 0; n < items; n++) writer.push(decisionEntry(n, false));
        await writer.close(60_000);
        return { keys: [keys.auditStream], perKey: false };
      },
    );
  }
  return rows;
}
