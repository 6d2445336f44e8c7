// Issue 3: the admin API through which the team writes facts about organizations and users, against a real Redis.
import { randomBytes } from "node:crypto";
import { cacheKeys, TEAM_CLAIMS_MAX_BYTES } from "@gatehouse/decision-cache";
import { buildApp } from "@gatehouse/ingress/src/app.js";
import { capturedLog, testRedis } from "@gatehouse/testing";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterEach, describe, expect, inject, it } from "vitest";
import { body, send, testEnv } from "./support/ingress-harness.js";
import { startRedis } from "./support/redis-server.js";
import { scanPrefix } from "./support/scan-prefix.js";

const redisUrl = inject("redisUrl");
const TOKEN = randomBytes(36).toString("base64url");
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, "content-type": "application/json" };

const redis = testRedis();

const started: { app: FastifyInstance; prefix: string }[] = [];
afterEach(async () => {
  for (const { app, prefix } of started.splice(0)) {
    await app.close();
    const found = await scanPrefix(redis, prefix);
    if (found.length > 0) await redis.unlink(...found.map(({ key }) => key));
  }
});

/** An ingress with its own key prefix; the admin API on unless `overrides` says otherwise. */
async function ingress(overrides: Record<string, string> = { GATEHOUSE_ADMIN_TOKEN: TOKEN }) {
  const { log, lines } = capturedLog("ingress", "trace");
  const env = testEnv(redisUrl, overrides);
  const app = await buildApp({ env, log });
  await app.ready();
  started.push({ app, prefix: env.GATEHOUSE_KEY_PREFIX });
  const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  const call = (options: InjectOptions) => app.inject(options);
  // The admin routes with the token and JSON; `headers` replaces those.
  const admin = {
    put: (path: string, payload: unknown, headers: Record<string, string> = JSON_AUTH) =>
      call({ method: "PUT", url: `/admin/v1${path}`, headers, payload: payload as InjectOptions["payload"] }),
    get: (path: string, headers: Record<string, string> = AUTH) =>
      call({ method: "GET", url: `/admin/v1${path}`, headers }),
    delete: (path: string) => call({ method: "DELETE", url: `/admin/v1${path}`, headers: AUTH }),
    bulk: (payload: unknown) =>
      call({
        method: "POST",
        url: "/admin/v1/facts",
        headers: JSON_AUTH,
        payload: payload as InjectOptions["payload"],
      }),
  };
  return { app, keys, env, call, admin, logText: () => lines.join("") };
}

const teamKeys = async (prefix: string) =>
  (await scanPrefix(redis, `${prefix}:v1:team`)).map(({ key }) => key);

describe("admin API switched off", () => {
  it("answers 404 on every admin route without GATEHOUSE_ADMIN_TOKEN, and writes nothing", async () => {
    const { env, call } = await ingress({});
    for (const [method, url] of [
      ["GET", "/admin/v1/organizations/org_1"],
      ["PUT", "/admin/v1/organizations/org_1"],
      ["DELETE", "/admin/v1/users/usr_1"],
      ["POST", "/admin/v1/facts"],
    ] as const) {
      const response = await call({ method, url, headers: JSON_AUTH, payload: { memberCount: 1 } });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);
  });
});

describe("admin API authentication", () => {
  it.each([
    ["no Authorization header", {}],
    ["another token of the same length", { authorization: `Bearer ${"A".repeat(TOKEN.length)}` }],
    ["the token with a character more", { authorization: `Bearer ${TOKEN}x` }],
    ["the token less its last character", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ["the token as Basic credentials", { authorization: `Basic ${TOKEN}` }],
    ["the bare token", { authorization: TOKEN }],
    ["an empty bearer", { authorization: "Bearer " }],
  ])("refuses %s with 401 and a JSON error, writing nothing", async (_name, headers) => {
    const { env, admin, logText } = await ingress();
    const put = await admin.put(
      "/organizations/org_1",
      { memberCount: 3 },
      {
        ...headers,
        "content-type": "application/json",
      },
    );
    expect(put.statusCode).toBe(401);
    expect(put.headers["www-authenticate"]).toBe('Bearer realm="gatehouse-admin"');
    expect(put.json()).toEqual({ error: "unauthorized", message: expect.stringContaining("Bearer") });
    const get = await admin.get("/organizations/org_1", headers);
    expect(get.statusCode).toBe(401);
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);
    expect(logText()).not.toContain(TOKEN);
  });

  it("takes the scheme in any case, and checks authentication before the media type", async () => {
    const { admin } = await ingress();
    const lower = await admin.put(
      "/users/usr_1",
      { claims: { plan: "pro" } },
      {
        authorization: `bearer ${TOKEN}`,
        "content-type": "application/json",
      },
    );
    expect(lower.statusCode).toBe(200);
    const anonymousText = await admin.put("/users/usr_1", "x", { "content-type": "text/plain" });
    expect(anonymousText.statusCode).toBe(401);
  });

  it("takes every token of a rotation (GATEHOUSE_ADMIN_TOKEN=new,old) and no other", async () => {
    const NEW = randomBytes(36).toString("base64url");
    const { admin } = await ingress({ GATEHOUSE_ADMIN_TOKEN: `${NEW}, ${TOKEN}` });
    for (const token of [NEW, TOKEN]) {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      expect((await admin.put("/organizations/org_1", { memberCount: 3 }, headers)).statusCode).toBe(200);
    }
    for (const authorization of [
      `Bearer ${NEW},${TOKEN}`,
      `Bearer ${NEW}${TOKEN}`,
      `Bearer ${NEW.slice(1)}`,
    ]) {
      const refused = await admin.get("/organizations/org_1", { authorization });
      expect(refused.statusCode, authorization).toBe(401);
    }
    // Once the old token is dropped, it is refused.
    const { admin: rotated } = await ingress({ GATEHOUSE_ADMIN_TOKEN: NEW });
    expect((await rotated.get("/organizations/org_1", AUTH)).statusCode).toBe(401);
    expect((await rotated.get("/organizations/org_1", { authorization: `Bearer ${NEW}` })).statusCode).toBe(
      404,
    );
  });

  it("never logs the token, even at trace level, and keeps it out of /metrics", async () => {
    const { call, admin, logText } = await ingress();
    await admin.get("/organizations/none");
    await admin.get("/organizations/none", { authorization: "Bearer nope" });
    await admin.bulk({ users: [{ id: "u" }] });
    const metrics = await call({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain(
      'gatehouse_admin_requests_total{method="GET",route="/admin/v1/organizations/*",status="404"} 1',
    );
    expect(metrics.body).toContain('gatehouse_team_facts_written_total{kind="user"} 1');
    expect(metrics.body).not.toContain(TOKEN);
    expect(logText()).toContain("team facts written");
    expect(logText()).not.toContain(TOKEN);
  });
});

describe("admin API routes", () => {
  it("answers an unknown admin path with 404 no_route, which the CLI tells apart from an unknown id", async () => {
    const { admin } = await ingress();
    const route = await admin.get("/teams/t_1");
    expect(route.statusCode).toBe(404);
    expect(route.json()).toEqual({ error: "no_route", message: "no such admin route" });
    expect((await admin.get("/users/nobody")).json().error).toBe("not_found");
  });
});

describe("admin API media type and limits", () => {
  it.each([
    ["text/plain", '{"memberCount":1}'],
    ["application/x-www-form-urlencoded", "memberCount=1"],
    [undefined, '{"memberCount":1}'],
  ])("answers 415 to a body sent as %s", async (type, payload) => {
    const { env, call } = await ingress();
    const headers: Record<string, string> = { ...AUTH, ...(type && { "content-type": type }) };
    for (const url of ["/admin/v1/organizations/org_1", "/admin/v1/facts"]) {
      const response = await call({ method: url.endsWith("facts") ? "POST" : "PUT", url, headers, payload });
      expect(response.statusCode, url).toBe(415);
      expect(response.json().error).toBe("unsupported_media_type");
    }
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);
  });

  it("answers 400 with a JSON error to a body that is not JSON, and to an unknown field", async () => {
    const { admin } = await ingress();
    const broken = await admin.put("/organizations/org_1", '{"memberCount":');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error).toBe("invalid_request");
    const typo = await admin.put("/organizations/org_1", { membercount: 3 });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().problems[0].message).toContain("membercount");
  });

  it("takes a bulk body far over the interceptor routes' body limit, and refuses a PUT over 1 MiB with 413", async () => {
    const { admin } = await ingress();
    const organizations = Array.from({ length: 2_000 }, (_, i) => ({
      id: `org_${i}`,
      memberCount: i,
      allowedDomains: [`d${i}.example.com`, `e${i}.example.com`],
    }));
    const bulk = await admin.bulk({ organizations });
    expect(Buffer.byteLength(JSON.stringify({ organizations }))).toBeGreaterThan(65_536);
    expect(bulk.statusCode).toBe(200);
    const huge = await admin.put("/users/usr_1", { claims: { pad: "x".repeat(1_100_000) } });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe("body_too_large");
  });
});

describe("admin API: one organization or user", () => {
  it("PUT → GET → DELETE round-trips an organization through its team key", async () => {
    const { keys, admin } = await ingress();
    const put = await admin.put("/organizations/org_1", {
      memberCount: 41,
      allowedDomains: ["Acme.com.", " acme.co.uk"],
      externalId: "crm-7",
    });
    expect(put.statusCode).toBe(200);
    const expected = {
      id: "org_1",
      memberCount: 41,
      allowedDomains: ["acme.com", "acme.co.uk"],
      externalId: "crm-7",
    };
    expect(put.json()).toEqual({ ...expected, updatedAt: expect.any(Number) });

    const key = keys.team("organization", "org_1");
    expect(key).toBe(`${keys.prefix}:v1:team:organization:org_1`);
    const { id: _id, ...storedFact } = expected;
    expect(JSON.parse((await redis.get(key)) ?? "null")).toEqual({
      ...storedFact,
      updatedAt: put.json().updatedAt,
    });
    expect(await redis.pttl(key)).toBe(-1);

    const get = await admin.get("/organizations/org_1");
    expect(get.statusCode).toBe(200);
    expect(get.json()).toEqual(put.json());
    expect((await admin.get("/users/org_1")).statusCode).toBe(404);

    const deleted = await admin.delete("/organizations/org_1");
    expect(deleted.statusCode).toBe(204);
    expect(await redis.exists(key)).toBe(0);
    const again = await admin.delete("/organizations/org_1");
    expect(again.statusCode).toBe(404);
    const gone = await admin.get("/organizations/org_1");
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toEqual({ error: "not_found", message: "no organization org_1" });
  });

  it("PUT of a user replaces the whole record; ?ttlSeconds sets a TTL and a later PUT without it clears it", async () => {
    const { keys, admin } = await ingress();
    const url = "/users/usr_42";
    const key = keys.team("user", "usr_42");
    const first = await admin.put(`${url}?ttlSeconds=600`, { claims: { plan: "pro", seats: 5 } });
    expect(first.statusCode).toBe(200);
    expect(await redis.ttl(key)).toBeGreaterThan(590);

    await admin.put(url, { claims: { plan: "free" } });
    expect(await redis.ttl(key)).toBe(-1);
    const get = await admin.get(url);
    expect(get.json()).toMatchObject({ id: "usr_42", claims: { plan: "free" } });
    expect(get.json().claims.seats).toBeUndefined();

    const badTtl = await admin.put(`${url}?ttlSeconds=0`, {});
    expect(badTtl.statusCode).toBe(400);
    expect(badTtl.json().problems[0].path).toBe("ttlSeconds");
  });

  it("takes ids with URL-encoded characters, and refuses control characters and ids over 256 characters", async () => {
    const { keys, admin } = await ingress();
    const ok = await admin.put(`/users/${encodeURIComponent("usr:1/ü")}`, {});
    expect(ok.statusCode).toBe(200);
    expect(await redis.exists(keys.team("user", "usr:1/ü"))).toBe(1);

    for (const id of ["usr\n1", "x".repeat(257)]) {
      const response = await admin.put(`/users/${encodeURIComponent(id)}`, {});
      expect(response.statusCode).toBe(400);
      expect(response.json().problems[0].path).toBe("id");
    }
  });

  it("refuses claims over the size limit with a problem at `claims`, writing nothing", async () => {
    const { env, admin } = await ingress();
    const claims = { pad: "x".repeat(TEAM_CLAIMS_MAX_BYTES) };
    const response = await admin.put("/users/usr_1", { claims });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: "invalid_request",
      problemCount: 1,
      problems: [{ path: "claims", message: `must be at most ${TEAM_CLAIMS_MAX_BYTES} bytes as JSON` }],
    });
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);
  });
});

describe("admin API: bulk", () => {
  it("writes organizations and users in one call and answers with the counts", async () => {
    const { keys, env, admin } = await ingress();
    const response = await admin.bulk({
      organizations: [
        { id: "org_a", memberCount: 3, allowedDomains: ["a.example"] },
        { id: "org_b", memberCount: 0 },
      ],
      users: [{ id: "usr_a", claims: { plan: "pro" } }],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ dryRun: false, written: 3, organizations: 2, users: 1 });
    expect((await teamKeys(env.GATEHOUSE_KEY_PREFIX)).sort()).toEqual(
      [
        keys.team("organization", "org_a"),
        keys.team("organization", "org_b"),
        keys.team("user", "usr_a"),
      ].sort(),
    );
    const get = await admin.get("/users/usr_a");
    expect(get.json()).toMatchObject({ claims: { plan: "pro" } });
  });

  it("is all or nothing: one bad record refuses the call, listing each problem with its index and field", async () => {
    const { env, admin } = await ingress();
    const response = await admin.bulk({
      organizations: [
        { id: "org_ok", memberCount: 1 },
        { id: "org_bad", allowedDomains: ["fine.example", "not a domain"] },
        { id: "org_ok", memberCount: 2 },
      ],
      users: [{ id: "usr_ok" }, { id: "", claims: [] }, "not an object"],
    });
    expect(response.statusCode).toBe(400);
    const answer = response.json();
    expect(answer.message).toBe("5 problems in the records; nothing was written");
    expect(answer.problems.map((p: { path: string }) => p.path)).toEqual([
      "organizations[1].allowedDomains[1]",
      "organizations[2].id",
      "users[1].claims",
      "users[1].id",
      "users[2]",
    ]);
    expect(answer.problems[0]).toMatchObject({
      list: "organizations",
      index: 1,
      message: expect.any(String),
    });
    expect(answer.problems[1].message).toBe("repeats the id of organizations[0]");
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);
  });

  it("lists at most 20 problems but counts them all", async () => {
    const { admin } = await ingress();
    const users = Array.from({ length: 50 }, (_, i) => ({ id: `u${i}`, claims: "no" }));
    const answer = (await admin.bulk({ users })).json();
    expect(answer.problemCount).toBe(50);
    expect(answer.problems).toHaveLength(20);
    expect(answer.problems[19].path).toBe("users[19].claims");
  });

  it("refuses more than 10,000 records in one call, and an unknown top-level field", async () => {
    const { env, admin } = await ingress();
    const users = Array.from({ length: 10_001 }, (_, i) => ({ id: `u${i}` }));
    const tooMany = await admin.bulk({ users });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().problems[0].message).toBe("10001 records: at most 10000 per request");
    const unknown = await admin.bulk({ organisations: [{ id: "o" }] });
    expect(unknown.statusCode).toBe(400);
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);
  });

  it("dryRun validates without writing; ttlSeconds applies to every record", async () => {
    const { keys, env, admin } = await ingress();
    const payload = { users: [{ id: "usr_1" }, { id: "usr_2" }], organizations: [{ id: "org_1" }] };
    const dry = await admin.bulk({ ...payload, dryRun: true });
    expect(dry.json()).toEqual({ dryRun: true, written: 0, organizations: 1, users: 2 });
    expect(await teamKeys(env.GATEHOUSE_KEY_PREFIX)).toEqual([]);

    const real = await admin.bulk({ ...payload, ttlSeconds: 3_600 });
    expect(real.json().written).toBe(3);
    for (const key of [keys.team("user", "usr_2"), keys.team("organization", "org_1")]) {
      expect(await redis.ttl(key)).toBeGreaterThan(3_590);
    }
  });
});

describe("admin API beside the interceptor routes", () => {
  it("leaves the interceptor routes' raw-body parsing alone: a signed request is still answered", async () => {
    const { app } = await ingress();
    const sent = await send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER"));
    expect(sent.status).toBe(200);
    // Verified and parsed: neither the "could not be verified" nor the "could not be processed" answer.
    expect(sent.answer.error?.message ?? "").not.toMatch(/could not be (verified|processed)/);
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/gatehouse_decisions_total\{trigger="PRE_SIGNUP",/);
    expect(metrics).not.toMatch(/reason="(request\.malformed|signature\.[a-z_]+)"/);
  });

  it("answers 503 with a JSON error, at once, while Redis is unreachable, and writes again once it is back", async () => {
    const server = await startRedis();
    try {
      const { admin } = await ingress({ GATEHOUSE_ADMIN_TOKEN: TOKEN, REDIS_URL: server.url });
      const put = () => admin.put("/organizations/org_1", { memberCount: 1 });
      expect((await put()).statusCode).toBe(200);
      await server.kill();
      const started = performance.now();
      const response = await put();
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({
        error: "unavailable",
        message: "Redis did not answer; the write may not have happened",
      });
      const read = await admin.get("/organizations/org_1");
      expect(read.statusCode).toBe(503);
      expect(read.json()).toEqual({
        error: "unavailable",
        message: "Redis did not answer; nothing was read",
      });
      expect(performance.now() - started).toBeLessThan(1_000);
      await server.restart();
      await expect.poll(async () => (await put()).statusCode, { timeout: 5_000, interval: 100 }).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
