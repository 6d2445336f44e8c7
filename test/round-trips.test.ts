import { randomUUID } from "node:crypto";
import { cacheKeys, TeamFactStore, writeFact } from "@gatehouse/decision-cache";
import { factKey } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { policySchema } from "@gatehouse/policy";
import { createRedis, type Redis } from "@gatehouse/redis";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, send, testEnv, testIngress, UNKNOWN_IP } from "./support/ingress-harness.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

// Every kind of input a policy can read at once: two enrichment facts, a team fact, two velocity counters.
const POLICY = policySchema.parse({
  version: 1,
  triggers: {
    PRE_USER_INVITATION: {
      rules: [
        {
          name: "disposable",
          when: { emailDomain: { disposable: true } },
          outcome: { decision: "DENY", reason: "email.disposable" },
        },
        {
          name: "listed",
          when: { ip: { listed: true } },
          outcome: { decision: "DENY", reason: "ip.listed" },
        },
        {
          name: "outside",
          when: { emailDomain: { allowedByOrganization: false } },
          outcome: { decision: "DENY", reason: "invite.domain" },
        },
        {
          name: "busy-org",
          when: { velocity: { per: "organization", window: "1h", over: 1_000 } },
          outcome: { decision: "DENY", reason: "invite.velocity" },
        },
        {
          name: "busy-ip",
          when: { velocity: { per: "ip", window: "10m", over: 1_000 } },
          outcome: { decision: "DENY", reason: "ip.velocity" },
        },
      ],
    },
  },
});

// The same without team facts or velocity: enrichment facts only, which the ingress keeps in memory.
const FACTS_ONLY_POLICY = policySchema.parse({
  version: 1,
  triggers: { PRE_USER_INVITATION: { rules: POLICY.triggers.PRE_USER_INVITATION?.rules.slice(0, 2) } },
});

let server: RedisServer;
let redis: Redis;
let app: FastifyInstance;
let factsOnly: FastifyInstance;
let env: ReturnType<typeof testEnv>;
/** Each command Redis ran while recording; `script` is the SHA an EVALSHA ran. */
const commands: { name: string; fromScript: boolean; script?: string; keys?: number }[] = [];
let recording = false;

beforeAll(async () => {
  // A Redis of its own: MONITOR sees every command, and no other test's traffic.
  server = await startRedis();
  redis = createRedis({ url: server.url }, "bullmq");
  env = testEnv(server.url);
  const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  const email = ENRICHMENTS["email-domain"];
  const ip = ENRICHMENTS["ip-reputation"];
  const fixture = body("PRE_USER_INVITATION") as { interceptor_context: { ip_address: string } };
  const address = fixture.interceptor_context.ip_address;
  await writeFact(
    redis,
    keys,
    factKey(keys, email, { domain: "contractor.com" }),
    {
      domain: "contractor.com",
      registrable: "contractor.com",
      disposable: false,
      freeMail: false,
      mx: "present",
    },
    600,
  );
  await writeFact(
    redis,
    keys,
    factKey(keys, ip, { ip: address }),
    { ...UNKNOWN_IP, ip: address, lists: [], listed: false },
    600,
  );
  await new TeamFactStore(redis, keys).put("organization", "org_93731871904672153", {
    memberCount: 3,
    allowedDomains: ["contractor.com"],
  });

  const monitor = await redis.duplicate().monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (!recording) return;
    const name = (args[0] ?? "").toLowerCase();
    // Each ingress' look at which workers run, every 2 s: no request's (worker-presence.ts).
    if (name === "mget" && args[1]?.startsWith(keys.workerPresence(""))) return;
    commands.push({
      name,
      fromScript: source === "lua",
      ...(name === "evalsha" && { script: args[1] }),
      ...(name === "mget" && { keys: args.length - 1 }),
    });
  });
  app = await testIngress({ ...env, GATEHOUSE_LOCAL_FACTS_MS: 0 }, POLICY);
  factsOnly = await testIngress(env, FACTS_ONLY_POLICY);
  // The first request loads the read script (EVALSHA, NOSCRIPT, EVAL): not what steady state costs.
  await send(app, "/pre-user-invitation", body("PRE_USER_INVITATION"));
  // Reads both facts once and keeps them.
  await send(factsOnly, "/pre-user-invitation", body("PRE_USER_INVITATION"));
});

afterAll(async () => {
  await app?.close();
  await factsOnly?.close();
  await redis?.quit();
  await server?.stop();
});

describe("Redis round trips per decision", () => {
  it("is one command per request, whatever the policy reads: facts, team facts and velocity counters", async () => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the warm-up's after-reply writes
    recording = true;
    const requests = 20;
    for (let i = 0; i < requests; i++) {
      const sent = await send(app, "/pre-user-invitation", body("PRE_USER_INVITATION"), {
        id: `ic_${randomUUID()}`,
      });
      expect(sent.answer).toEqual({ decision: "ALLOW" });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    recording = false;

    const topLevel = commands.filter((command) => !command.fromScript);
    // One EVALSHA of the read script per request; after the reply, answers and audit go out in batches (one
    // EVALSHA of the write script each: a SET per answer, an XADD) — never on the request path.
    expect(new Set(topLevel.map((command) => command.name))).toEqual(new Set(["evalsha"]));
    const bySha = new Map<string, number>();
    for (const { script } of topLevel) bySha.set(script ?? "", (bySha.get(script ?? "") ?? 0) + 1);
    expect([...bySha.values()].sort((a, b) => b - a)[0]).toBe(requests);
    expect(bySha.size).toBe(2);
    // Inside the read script: the claim, three GETs, two INCRs with the previous windows' GETs; inside the
    // write script: the answer SET into each claim.
    const inScript = commands.filter((command) => command.fromScript).map((command) => command.name);
    expect(inScript.filter((name) => name === "incr")).toHaveLength(2 * requests);
    expect(inScript.filter((name) => name === "get")).toHaveLength(5 * requests);
    expect(inScript.filter((name) => name === "set")).toHaveLength(2 * requests);
  });

  it("is none for a warm request whose policy reads enrichment facts only: the id is claimed after the reply", async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    commands.length = 0;
    recording = true;
    const requests = 20;
    for (let i = 0; i < requests; i++) {
      const sent = await send(factsOnly, "/pre-user-invitation", body("PRE_USER_INVITATION"), {
        id: `ic_${randomUUID()}`,
      });
      expect(sent.answer).toEqual({ decision: "ALLOW" });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    recording = false;

    const topLevel = commands.filter((command) => !command.fromScript).map((command) => command.name);
    // Only after-reply batches, each two scripts: the claims (a SET NX per id), then answers and audit.
    expect(topLevel.filter((name) => name !== "evalsha" && name !== "eval")).toEqual([]);
    const inScript = commands.filter((command) => command.fromScript).map((command) => command.name);
    expect(inScript.filter((name) => name === "set")).toHaveLength(requests);
    expect(inScript.filter((name) => name === "get" || name === "incr")).toEqual([]);
    const batches = inScript.filter((name) => name === "xadd").length;
    expect(batches).toBeGreaterThan(0);
    expect(topLevel.filter((name) => name === "evalsha").length).toBeLessThanOrEqual(2 * batches);
    expect(topLevel.filter((name) => name === "eval").length).toBeLessThanOrEqual(1); // the claim script's first use
  });

  it("stays none for a subject asked for steadily past the copies' lifetime: they are read again behind the answers", async () => {
    // Copies of 300-400 ms; requests every 40 ms for 1.6 s, four lifetimes.
    const steady = await testIngress({ ...env, GATEHOUSE_LOCAL_FACTS_MS: 400 }, FACTS_ONLY_POLICY);
    try {
      await send(steady, "/pre-user-invitation", body("PRE_USER_INVITATION")); // reads both facts once
      await new Promise((resolve) => setTimeout(resolve, 100));
      commands.length = 0;
      recording = true;
      for (let i = 0; i < 40; i++) {
        const sent = await send(steady, "/pre-user-invitation", body("PRE_USER_INVITATION"), {
          id: `ic_${randomUUID()}`,
        });
        expect(sent.answer).toEqual({ decision: "ALLOW" });
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      recording = false;
      // No request ran the read script (its GETs); the copies were read again with MGETs, a few times.
      expect(commands.filter((command) => command.name === "get")).toEqual([]);
      const rereads = commands
        .filter((command) => !command.fromScript && command.name === "mget")
        .reduce((keys, command) => keys + (command.keys ?? 0), 0);
      expect(rereads).toBeGreaterThanOrEqual(2 * 3);
      expect(rereads).toBeLessThanOrEqual(2 * 8);
    } finally {
      await steady.close();
    }
  });
});
