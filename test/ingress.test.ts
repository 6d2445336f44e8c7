import { cacheKeys, encodeFact, writeFact } from "@gatehouse/decision-cache";
import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { buildApp } from "@gatehouse/ingress/src/app.js";
import { DEFAULT_POLICY, policySchema } from "@gatehouse/policy";
import { capturedLog, testRedis } from "@gatehouse/testing";
import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { readAudit } from "./support/audit-records.js";
import {
  body,
  emailFact,
  SECRET,
  send,
  testEnv,
  testIngress,
  UNKNOWN_IP,
} from "./support/ingress-harness.js";

const redisUrl = inject("redisUrl");
const redis = testRedis();

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function ingress(overrides: Record<string, string> = {}, policy = DEFAULT_POLICY) {
  const env = testEnv(redisUrl, overrides);
  const app = await testIngress(env, policy);
  apps.push(app);
  return { app, env, keys: cacheKeys(env.GATEHOUSE_KEY_PREFIX) };
}

/** PRE_SIGNUP denies disposable domains, with the given miss policy; fallback ALLOW. */
const disposableOnly = (onMiss: { waitMs: number; afterWait?: "evaluate" | "ALLOW" | "DENY" }) =>
  policySchema.parse({
    version: 1,
    triggers: {
      PRE_SIGNUP: {
        rules: [
          {
            name: "d",
            when: { emailDomain: { disposable: true } },
            outcome: { decision: "DENY", reason: "d" },
          },
        ],
        onMiss,
        fallback: "ALLOW",
      },
    },
  });

describe("warm cache", () => {
  it("denies a disposable domain and allows another, from the cache, with one audit record each", async () => {
    const { app, keys } = await ingress({ GATEHOUSE_LOCAL_FACTS_MS: "0" }); // every request reads Redis
    await writeFact(
      redis,
      keys,
      keys.fact("email-domain", 1, "trashmail.test"),
      emailFact("trashmail.test", true),
      60,
    );
    await writeFact(
      redis,
      keys,
      keys.fact("email-domain", 1, "acme.test"),
      emailFact("acme.test", false),
      60,
    );
    for (const ip of ["198.51.100.1", "198.51.100.2"]) {
      await writeFact(
        redis,
        keys,
        keys.fact("ip-reputation", 2, ip),
        { ...UNKNOWN_IP, ip, lists: [], listed: false },
        60,
      );
    }

    const denied = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "a@trashmail.test", ip_address: "198.51.100.1" }),
    );
    expect(denied.status).toBe(200);
    expect(denied.answer.decision).toBe("DENY");
    expect(denied.answer.error?.message).toMatch(/disposable/);

    const allowed = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "b@acme.test", ip_address: "198.51.100.2" }),
    );
    expect(allowed.answer).toEqual({ decision: "ALLOW" });

    await app.close();
    const records = await readAudit(redis, keys.auditStream);
    expect(records.map((r) => [r.decision, r.reason, r.cache])).toEqual([
      ["DENY", "email.disposable", "hit"],
      ["ALLOW", "policy.default", "hit"],
    ]);
    // No personal data in the audit: no email address, no IP.
    expect(JSON.stringify(records)).not.toMatch(/trashmail|acme\.test|198\.51/);
  });

  it("keeps the facts it read or heard announced in memory: warm requests read no Redis until a worker's write replaces them", async () => {
    const { app, keys } = await ingress();
    const emailKey = keys.fact("email-domain", 1, "kept.test");
    // Plain SETs, not announced: the ingress learns these facts by reading them.
    await redis.set(emailKey, encodeFact(emailFact("kept.test", false), 60));
    await redis.set(
      keys.fact("ip-reputation", 2, "198.51.100.9"),
      encodeFact({ ...UNKNOWN_IP, ip: "198.51.100.9", lists: [], listed: false }, 60),
    );
    const signup = () =>
      send(
        app,
        "/pre-signup",
        body("PRE_SIGNUP_NEW_USER", { user_email: "a@kept.test", ip_address: "198.51.100.9" }),
      );

    expect((await signup()).answer).toEqual({ decision: "ALLOW" }); // read from Redis, kept
    expect((await signup()).answer).toEqual({ decision: "ALLOW" }); // from memory
    await redis.del(emailKey);
    expect((await signup()).answer).toEqual({ decision: "ALLOW" }); // still from memory: Redis not read
    // A worker's write is announced: the copy is replaced at once.
    await writeFact(redis, keys, emailKey, emailFact("kept.test", true), 60);
    await vi.waitFor(async () => expect((await signup()).answer.decision).toBe("DENY"), {
      timeout: 2_000,
      interval: 20,
    });

    await app.close();
    const caches = (await readAudit(redis, keys.auditStream)).map((record) => record.cache);
    expect(caches.slice(0, 3)).toEqual(["hit", "memory", "memory"]);
    expect(caches.at(-1)).toBe("memory");
  });

  it("reads only what memory does not hold when a policy needs Redis anyway (a velocity counter)", async () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [
            {
              name: "burst",
              when: { velocity: { per: "ip", window: "1h", over: 100 } },
              outcome: { decision: "DENY", reason: "ip.velocity" },
            },
            {
              name: "disposable",
              when: { emailDomain: { disposable: true } },
              outcome: { decision: "DENY", reason: "disposable" },
            },
          ],
          onMiss: { waitMs: 0, afterWait: "ALLOW" },
          fallback: "ALLOW",
        },
      },
    });
    const { app, keys } = await ingress({}, policy);
    const emailKey = keys.fact("email-domain", 1, "held.test");
    // A plain SET, not announced: the ingress learns the fact by reading it.
    await redis.set(emailKey, encodeFact(emailFact("held.test", true), 60));
    const signup = () =>
      send(
        app,
        "/pre-signup",
        body("PRE_SIGNUP_NEW_USER", { user_email: "a@held.test", ip_address: "198.51.100.21" }),
      );

    expect((await signup()).answer.decision).toBe("DENY"); // read from Redis with the counter, kept
    await redis.del(emailKey);
    // The counter is read from Redis again; the fact is not: its copy decides.
    expect((await signup()).answer.decision).toBe("DENY");

    await app.close();
    const records = await readAudit(redis, keys.auditStream);
    expect(records.map((record) => [record.cache, record.reason])).toEqual([
      ["hit", "disposable"],
      ["memory", "disposable"],
    ]);
  });

  it("denies an address on a blocklist", async () => {
    const { app, keys } = await ingress();
    await writeFact(
      redis,
      keys,
      keys.fact("email-domain", 1, "acme.test"),
      emailFact("acme.test", false),
      60,
    );
    const ip = "203.0.113.9";
    await writeFact(
      redis,
      keys,
      keys.fact("ip-reputation", 2, ip),
      { ...UNKNOWN_IP, ip, lists: ["firehol"], listed: true },
      60,
    );
    const sent = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "c@acme.test", ip_address: ip }),
    );
    expect(sent.answer.decision).toBe("DENY");
    expect(sent.answer.error?.message).toMatch(/network/);
  });

  it("decides on any field of a cached fact with a fact condition, and audits what it read", async () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [
            {
              name: "acme-family",
              when: { fact: { enrichment: "email-domain", field: "registrable", equals: "acme.test" } },
              outcome: { decision: "DENY", reason: "domain.acme", message: "Use your work account." },
            },
          ],
        },
      },
    });
    const { app, keys } = await ingress({}, policy);
    const subdomain = "eu.acme.test";
    await writeFact(
      redis,
      keys,
      keys.fact("email-domain", 1, subdomain),
      { ...emailFact(subdomain, false), registrable: "acme.test" },
      60,
    );
    const sent = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: `c@${subdomain}` }),
    );
    expect(sent.answer).toEqual({ decision: "DENY", error: { message: "Use your work account." } });
    await vi.waitFor(async () => {
      const [record] = await readAudit(redis, keys.auditStream);
      expect(record).toMatchObject({ rule: "acme-family", reason: "domain.acme" });
      // What the rules compared: the shipped summary, and the field the fact condition compared.
      expect(record?.facts).toEqual({
        "email-domain": { disposable: false, freeMail: false, mx: "present", registrable: "acme.test" },
      });
    });
  });

  it("decides on a fact not looked up yet with known: false, for requests that have its subject", async () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          onMiss: { waitMs: 0, afterWait: "evaluate" },
          rules: [
            {
              name: "ip-not-looked-up",
              when: { fact: { enrichment: "ip-reputation", known: false } },
              outcome: { decision: "DENY", reason: "ip.unknown" },
            },
          ],
        },
      },
    });
    const { app, keys } = await ingress({}, policy);
    const known = "203.0.113.10";
    await writeFact(redis, keys, keys.fact("ip-reputation", 2, known), { ...UNKNOWN_IP, ip: known }, 60);
    const answer = async (context: Record<string, unknown>) =>
      (await send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", context))).answer.decision;
    expect(await answer({ ip_address: "203.0.113.11" })).toBe("DENY");
    expect(await answer({ ip_address: known })).toBe("ALLOW");
    // No address in the request: nothing to look up, so not "not looked up yet" either.
    expect(await answer({ ip_address: null })).toBe("ALLOW");
  });

  it("adds the cached claims to PRE_SESSION_CREATION", async () => {
    const { app, keys } = await ingress();
    const claims = { subscription_tier: "enterprise", feature_flags: ["api_access"] };
    await writeFact(redis, keys, keys.fact("user-claims", 1, "org_1:usr_1"), { claims }, 60);
    const sent = await send(
      app,
      "/pre-session-creation",
      body("PRE_SESSION_CREATION", { organization_id: "org_1", user_id: "usr_1" }),
    );
    expect(sent.answer).toEqual({ decision: "ALLOW", response: { claims } });
  });
});

describe("idempotency", () => {
  it("answers a repeated interceptor id exactly as the first time, and audits it once", async () => {
    const { app, keys } = await ingress({}, policySchema.parse({ version: 1 }));
    const payload = body("PRE_SIGNUP_NEW_USER");
    const first = await send(app, "/pre-signup", payload, { id: "msg_repeat_1" });
    const again = await send(app, "/pre-signup", payload, { id: "msg_repeat_1" });
    expect(again.answer).toEqual(first.answer);

    // After the in-process memory of recent answers has rotated out, the answer comes from Redis.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const later = await send(app, "/pre-signup", payload, { id: "msg_repeat_1" });
    expect(later.answer).toEqual(first.answer);

    await app.close();
    const records = await readAudit(redis, keys.auditStream);
    expect(records.filter((r) => r.interceptorId === "msg_repeat_1")).toHaveLength(1);
  });

  it("serves the stored answer to another replica", async () => {
    const one = await ingress();
    const prefix = one.env.GATEHOUSE_KEY_PREFIX;
    const two = await ingress({ GATEHOUSE_KEY_PREFIX: prefix });
    await writeFact(
      redis,
      one.keys,
      one.keys.fact("email-domain", 1, "burner.test"),
      emailFact("burner.test", true),
      60,
    );
    const payload = body("PRE_SIGNUP_NEW_USER", { user_email: "x@burner.test" });
    const first = await send(one.app, "/pre-signup", payload, { id: "msg_cross" });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the answer is written after the reply
    const second = await send(two.app, "/pre-signup", payload, { id: "msg_cross" });
    expect(first.answer.decision).toBe("DENY");
    expect(second.answer).toEqual(first.answer);
  });
});

describe("idempotency across replicas while the first is still deciding", () => {
  it("gives the repeat the first request's answer once it is stored, not the fallback", async () => {
    const policy = disposableOnly({ waitMs: 1_000, afterWait: "evaluate" });
    const one = await ingress({}, policy);
    const two = await ingress({ GATEHOUSE_KEY_PREFIX: one.env.GATEHOUSE_KEY_PREFIX }, policy);
    const payload = body("PRE_SIGNUP_NEW_USER", { user_email: "x@slow-to-learn.test" });
    const first = send(one.app, "/pre-signup", payload, { id: "msg_pending" });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first has claimed the id and waits
    const second = send(two.app, "/pre-signup", payload, { id: "msg_pending" });
    const key = one.keys.fact("email-domain", 1, "slow-to-learn.test");
    await writeFact(redis, one.keys, key, emailFact("slow-to-learn.test", true), 60);
    const [a, b] = await Promise.all([first, second]);
    expect(a.answer.decision).toBe("DENY");
    expect(b.answer).toEqual(a.answer);
  });
});

describe("cache miss", () => {
  it("enqueues one job for a burst of misses on one new domain", async () => {
    const { app, env } = await ingress({}, disposableOnly({ waitMs: 0 }));
    const answers = await Promise.all(
      Array.from({ length: 1000 }, () =>
        send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: "someone@brand-new.test" })),
      ),
    );
    expect(answers.every((a) => a.status === 200 && a.answer.decision === "ALLOW")).toBe(true);
    const queue = new Queue("enrich.email-domain", {
      connection: redis,
      prefix: bullPrefix(env.GATEHOUSE_KEY_PREFIX),
    });
    const jobs = async () => {
      const counts = await queue.getJobCounts("wait", "active", "delayed", "completed", "failed");
      return Object.values(counts).reduce((a, b) => a + b, 0);
    };
    // The enqueue happens after the answers (nothing waits for it): wait for the job, then for stragglers.
    await vi.waitFor(async () => expect(await jobs()).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await jobs()).toBe(1);
    await queue.close();
  });

  it("with no worker running, answers by the miss policy before the deadline", async () => {
    const { app } = await ingress(
      { GATEHOUSE_DEADLINE_MS: "300" },
      disposableOnly({ waitMs: 5_000, afterWait: "DENY" }),
    );
    const sent = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "a@nobody-computes-this.test" }),
    );
    expect(sent.answer.decision).toBe("DENY");
    expect(sent.ms).toBeLessThan(400);
    expect(sent.ms).toBeGreaterThan(200);
  });

  it("answers by the miss policy, not the fallback, when a held event loop runs the wait's end and the deadline together", async () => {
    const { app } = await ingress(
      { GATEHOUSE_DEADLINE_MS: "600" },
      disposableOnly({ waitMs: 5_000, afterWait: "DENY" }),
    );
    const sending = send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: "a@held-loop.test" }));
    // The wait ends ~550 ms in, the deadline guard fires at ~575: the loop held from 450 to 700 ms (the read
    // long back, the request waiting) runs both at once, as a burst does.
    await new Promise((resolve) => setTimeout(resolve, 450));
    const until = performance.now() + 250;
    while (performance.now() < until);
    const sent = await sending;
    expect(sent.answer.decision).toBe("DENY");
    const metrics = (await app.inject("/metrics")).body;
    expect(metrics).toMatch(
      /gatehouse_decisions_total\{trigger="PRE_SIGNUP",decision="DENY",reason="cache.miss"\} 1/,
    );
  });
});

describe("deciding without waiting", () => {
  it("answers at once when a rule that needs no missing fact decides, and waits otherwise", async () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [
            {
              name: "blocked-region",
              when: { location: { region: ["KP"] } },
              outcome: { decision: "DENY", reason: "region.blocked" },
            },
            {
              name: "d",
              when: { emailDomain: { disposable: true } },
              outcome: { decision: "DENY", reason: "d" },
            },
          ],
          onMiss: { waitMs: 300, afterWait: "evaluate" },
        },
      },
    });
    const { app } = await ingress({}, policy);
    // No worker runs: the email-domain fact never comes.
    const blocked = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { region: "KP", user_email: "a@never-looked-up.test" }),
    );
    expect(blocked.answer).toEqual({ decision: "DENY" });
    expect(blocked.ms).toBeLessThan(150);
    const waited = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { region: "US", user_email: "b@never-looked-up.test" }),
    );
    expect(waited.answer).toEqual({ decision: "ALLOW" });
    expect(waited.ms).toBeGreaterThan(250);
  });
});

describe("overload", () => {
  it("answers a miss at once by the miss policy when too many requests already wait", async () => {
    const { app } = await ingress(
      { GATEHOUSE_MAX_WAITING: "0" },
      disposableOnly({ waitMs: 5_000, afterWait: "DENY" }),
    );
    const sent = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "a@not-waited-for.test" }),
    );
    expect(sent.answer.decision).toBe("DENY");
    expect(sent.ms).toBeLessThan(200);
  });
});

describe("hostile and malformed requests", () => {
  it("denies what fails verification, with a generic message and a reason in the metrics", async () => {
    const { app } = await ingress();
    const payload = body("PRE_SIGNUP_NEW_USER");
    const wrongSecret = await send(app, "/pre-signup", payload, {
      secret: "whsec_c2VjcmV0LW5vYm9keS1rbm93cw==",
    });
    const stale = await send(app, "/pre-signup", payload, {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    const unsigned = await app.inject({ method: "POST", url: "/auth/interceptors/pre-signup", payload });
    for (const answer of [wrongSecret.answer, stale.answer, unsigned.json()]) {
      expect(answer).toEqual({ decision: "DENY", error: { message: "This request could not be verified." } });
    }
    const metrics = (await app.inject("/metrics")).body;
    expect(metrics).toMatch(
      /gatehouse_decisions_total\{trigger="PRE_SIGNUP",decision="DENY",reason="signature.no_matching_signature"\} 1/,
    );
    expect(metrics).toMatch(/reason="signature.too_old"\} 1/);
    expect(metrics).toMatch(/reason="signature.missing_header"\} 1/);
  });

  it("denies a body that is not JSON, fails the schema, or names another trigger; 413 over the limit", async () => {
    const { app } = await ingress({ GATEHOUSE_BODY_LIMIT_BYTES: "2048" });
    expect((await send(app, "/pre-signup", "{not json")).answer.decision).toBe("DENY");
    expect(
      (
        await send(app, "/pre-signup", {
          trigger_point: "PRE_SIGNUP",
          interceptor_context: { user_email: 42 },
        })
      ).answer.decision,
    ).toBe("DENY");
    expect((await send(app, "/pre-signup", body("PRE_USER_INVITATION"))).answer.decision).toBe("DENY");
    const huge = await send(app, "/pre-signup", {
      ...body("PRE_SIGNUP_NEW_USER"),
      padding: "x".repeat(4096),
    });
    expect(huge.status).toBe(413);
    expect(huge.answer.decision).toBe("DENY");
    const metrics = (await app.inject("/metrics")).body;
    for (const reason of ["body.invalid_json", "body.invalid", "body.trigger_mismatch"]) {
      expect(metrics).toContain(`reason="${reason}"`);
    }
  });

  it("answers an unknown trigger on the generic route with the configured default", async () => {
    const { app } = await ingress({}, policySchema.parse({ version: 1, unknownTrigger: "DENY" }));
    const unknown = await send(app, "", { trigger_point: "PRE_SOMETHING_NEW", interceptor_context: {} });
    expect(unknown.answer).toEqual({ decision: "DENY" });
    const known = await send(app, "", body("POST_USER_AUTHENTICATION"));
    expect(known.answer).toEqual({ decision: "ALLOW" });
  });

  it("keeps test requests out of the production audit stream", async () => {
    const { app, keys } = await ingress();
    await send(
      app,
      "/pre-m2m-token-creation",
      { ...body("PRE_M2M_TOKEN_CREATION"), gatehouse_test: true },
      { id: "msg_test_1" },
    );
    await app.close();
    expect((await readAudit(redis, keys.testAuditStream)).map((r) => r.interceptorId)).toEqual([
      "msg_test_1",
    ]);
    expect(await readAudit(redis, keys.auditStream)).toEqual([]);
  });
});

describe("secrets", () => {
  it("accepts either of two secrets during a rotation", async () => {
    const other = "whsec_b2xkLXNlY3JldC1iZWluZy1yb3RhdGVkLW91dA==";
    const { app } = await ingress({ SCALEKIT_INTERCEPTOR_SECRET: `${other},${SECRET}` });
    expect(
      (await send(app, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION"), { secret: other })).answer
        .decision,
    ).toBe("ALLOW");
    expect((await send(app, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION"))).answer.decision).toBe(
      "ALLOW",
    );
  });
});

describe("errors outside the interceptor routes", () => {
  it("are logged by the ingress' own logger (Fastify is given none) and not described to the caller", async () => {
    const { log, lines } = capturedLog("ingress");
    const app = await buildApp({ env: testEnv(redisUrl), log });
    apps.push(app);
    app.get("/failing", async () => {
      throw new Error("the disk is gone");
    });
    app.get("/refusing", async () => {
      throw Object.assign(new Error("ask for a teapot"), { statusCode: 418 });
    });
    const failed = await app.inject("/failing");
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toEqual({ statusCode: 500, error: "internal error" });
    // A client's mistake is said back, and not logged as a failure.
    const refused = await app.inject("/refusing");
    expect(refused.statusCode).toBe(418);
    expect(refused.json()).toEqual({ statusCode: 418, error: "ask for a teapot" });
    const logged = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === "request failed");
    expect(logged).toMatchObject([{ level: 50, url: "/failing", err: { message: "the disk is gone" } }]);
  });
});
