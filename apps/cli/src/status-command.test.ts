import { cacheKeys } from "@gatehouse/decision-cache";
import { Enqueuer } from "@gatehouse/enrichment-sdk";
import { ENRICHMENT_NAMES, ENRICHMENTS } from "@gatehouse/enrichments";
import { createRedis, whenReady } from "@gatehouse/redis";
import { testRedis } from "@gatehouse/testing";
import { describe, expect, inject, it } from "vitest";
import { EXIT_ATTENTION, EXIT_OK, EXIT_USAGE } from "./cli.js";
import { auditRecord, writeAuditBatches } from "./testing/audit-records.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";
import { testPrefixes } from "./testing/test-prefixes.js";

// The shared test Redis has no maxmemory and evicts nothing: only what a test writes under its own prefix
// can need attention. A Redis that evicts, or is nearly full, is test/status-cli.test.ts'.

const redis = testRedis("bullmq");
const newPrefix = testPrefixes(redis, "s");

function setup() {
  const prefix = newPrefix();
  const env = testEnv({ redisUrl: inject("redisUrl"), keyPrefix: prefix });
  const status = (...args: string[]) => runCliCollecting(["status", ...args], env);
  return { keys: cacheKeys(prefix), status };
}

describe("gatehouse status", () => {
  it("a deployment with nothing yet: each enrichment without workers, no decision, nothing to attend to", async () => {
    const { status } = setup();
    const run = await status();
    expect(run.stderr).toBe("");
    expect(run.code).toBe(EXIT_OK);
    const port = new URL(inject("redisUrl")).port;
    expect(run.stdout).toMatch(
      new RegExp(
        `\\n {2}127\\.0\\.0\\.1:${port} +7\\.\\S+ +master +\\S+ MB \\(no maxmemory\\) +noeviction\\n`,
      ),
    );
    for (const name of ENRICHMENT_NAMES)
      expect(run.stdout).toMatch(new RegExp(`\\n {2}${name} +none has run +0 +0 +0 +0\\n`));
    expect(run.stdout).toContain(
      "\nIngress    0 connections listening for the workers' facts (one per ingress process)\n",
    );
    expect(run.stdout).toContain("  production  0 batches of records, no decision yet\n");
    expect(run.stdout.endsWith("Nothing needs attention.\n")).toBe(true);
  });

  it("says which workers run, what their queues hold and the newest decision; exits 5 when an enrichment's workers are gone", async () => {
    const { keys, status } = setup();
    // ip-reputation's workers beat; email-domain's ran this week and beat no more.
    await redis.set(keys.workerPresence("ip-reputation"), "1", "PX", 60_000);
    await redis.set(keys.workerRan("ip-reputation"), "1", "PX", 60_000);
    await redis.set(keys.workerRan("email-domain"), "1", "PX", 60_000);
    await whenReady(redis);
    const enqueuer = new Enqueuer({ connection: redis, keyPrefix: keys.prefix });
    try {
      for (const domain of ["a.example", "b.example"])
        expect(await enqueuer.enqueue(ENRICHMENTS["email-domain"], { domain })).toBe("added");
    } finally {
      await enqueuer.close();
    }
    await writeAuditBatches(redis, keys, [[auditRecord("ic_1")], [auditRecord("ic_2")]]);
    // An ingress process listens for the workers' announcements.
    const ingress = createRedis({ url: inject("redisUrl") }, "subscriber");
    await ingress.subscribe(keys.announceChannel);

    const [run, json] = await Promise.all([status(), status("--json")]).finally(() => ingress.quit());
    expect(run.stderr).toBe("");
    expect(run.code).toBe(EXIT_ATTENTION);
    expect(run.stdout).toContain("\nIngress    1 connection listening for the workers' facts");
    expect(run.stdout).toMatch(/\n {2}email-domain +GONE +2 +0 +0 +0\n/);
    expect(run.stdout).toMatch(/\n {2}ip-reputation +running +0 +0 +0 +0\n/);
    expect(run.stdout).toMatch(
      /\n {2}production {2}2 batches of records, newest decision \S+Z \(\d s ago\)\n/,
    );
    expect(run.stdout).toContain(
      "Needs attention:\n  - email-domain: no worker runs it (some did this week): its facts are not computed\n",
    );

    expect(json.code).toBe(EXIT_ATTENTION);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.listening).toBe(1);
    expect(parsed.enrichments).toContainEqual({
      enrichment: "email-domain",
      running: false,
      ranThisWeek: true,
      jobs: { waiting: 2, prioritized: 0, active: 0, delayed: 0, failed: 0 },
    });
    expect(parsed.audit[0]).toMatchObject({ stream: "production", batches: 2 });
    expect(parsed.audit[0].newestAt).toBeGreaterThan(Date.now() - 60_000);
    expect(parsed.problems).toHaveLength(1);
  });

  it("refuses an argument it does not take", async () => {
    const { status } = setup();
    const run = await status("everything");
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain('unexpected argument "everything"');
  });
});
