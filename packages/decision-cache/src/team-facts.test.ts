import { randomUUID } from "node:crypto";
import { createRedis, type Redis } from "@gatehouse/redis";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { cacheKeys } from "./keys.js";
import {
  decodeTeamFact,
  encodeTeamFact,
  TEAM_CLAIMS_MAX_BYTES,
  type TeamFactEntry,
  TeamFactStore,
  teamFactIdSchema,
  teamFactSchemas,
} from "./team-facts.js";

const issues = (result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) => result.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) ?? [];

describe("teamFactSchemas.organization", () => {
  it("normalizes allowed domains the way the policy compares them, and drops repeats", () => {
    const parsed = teamFactSchemas.organization.parse({
      memberCount: 12,
      allowedDomains: [" Acme.COM. ", "acme.com", "sub.acme.co.uk", "Bücher.de", "xn--bcher-kva.de"],
      externalId: "crm-42",
    });
    expect(parsed).toEqual({
      memberCount: 12,
      allowedDomains: ["acme.com", "sub.acme.co.uk", "xn--bcher-kva.de"],
      externalId: "crm-42",
    });
    expect(teamFactSchemas.organization.parse({})).toEqual({});
  });

  it.each([
    [{ memberCount: -1 }, "memberCount"],
    [{ memberCount: 1.5 }, "memberCount"],
    [{ memberCount: "3" }, "memberCount"],
    [{ allowedDomains: "acme.com" }, "allowedDomains"],
    [{ allowedDomains: ["acme.com", "not a domain"] }, "allowedDomains.1"],
    [{ allowedDomains: ["jane@acme.com"] }, "allowedDomains.0"],
    [{ allowedDomains: ["-acme.com"] }, "allowedDomains.0"],
    [{ allowedDomains: [""] }, "allowedDomains.0"],
    [{ allowedDomains: [`${"a".repeat(64)}.com`] }, "allowedDomains.0"],
    [{ membercount: 3 }, ""],
  ])("refuses %j at %j", (input, path) => {
    const result = teamFactSchemas.organization.safeParse(input);
    expect(result.success).toBe(false);
    expect(issues(result)[0]).toMatch(new RegExp(`^${path.replaceAll(".", "\\.")}: `));
  });
});

describe("teamFactSchemas.user", () => {
  it("takes a claims object up to the size limit", () => {
    const claims = { plan: "pro", seats: 5, flags: { beta: true }, roles: ["admin"] };
    expect(teamFactSchemas.user.parse({ claims })).toEqual({ claims });
    const atLimit = { pad: "x".repeat(TEAM_CLAIMS_MAX_BYTES - '{"pad":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(TEAM_CLAIMS_MAX_BYTES);
    expect(teamFactSchemas.user.safeParse({ claims: atLimit }).success).toBe(true);
  });

  it("refuses claims one byte over the limit (counted in UTF-8), and claims that are not an object", () => {
    const over = { pad: "x".repeat(TEAM_CLAIMS_MAX_BYTES - '{"pad":""}'.length + 1) };
    expect(issues(teamFactSchemas.user.safeParse({ claims: over }))).toEqual([
      `claims: must be at most ${TEAM_CLAIMS_MAX_BYTES} bytes as JSON`,
    ]);
    const wide = { pad: "é".repeat(TEAM_CLAIMS_MAX_BYTES / 2) };
    expect(teamFactSchemas.user.safeParse({ claims: wide }).success).toBe(false);
    for (const claims of [["a"], "plan=pro", null, 3]) {
      expect(issues(teamFactSchemas.user.safeParse({ claims }))[0]).toMatch(/^claims: /);
    }
  });
});

describe("teamFactIdSchema", () => {
  it("takes 1 to 256 characters without control characters", () => {
    for (const id of ["org_1", "a", "x".repeat(256), "org with spaces", "usr:ünïcode"]) {
      expect(teamFactIdSchema.safeParse(id).success).toBe(true);
    }
    for (const id of ["", "x".repeat(257), "org\n1", "org\u00001", "tab\there", "del\u007f"]) {
      expect(teamFactIdSchema.safeParse(id).success).toBe(false);
    }
  });
});

describe("encodeTeamFact / decodeTeamFact", () => {
  it("round-trips a fact with its write time", () => {
    const raw = encodeTeamFact({ memberCount: 3, allowedDomains: ["acme.com"] }, 1_700_000_000_000);
    expect(JSON.parse(raw)).toEqual({
      memberCount: 3,
      allowedDomains: ["acme.com"],
      updatedAt: 1_700_000_000_000,
    });
    expect(decodeTeamFact("organization", raw)).toEqual({
      memberCount: 3,
      allowedDomains: ["acme.com"],
      updatedAt: 1_700_000_000_000,
    });
    expect(decodeTeamFact("user", encodeTeamFact({ claims: { plan: "pro" } }, 5))).toEqual({
      claims: { plan: "pro" },
      updatedAt: 5,
    });
  });

  it("drops fields it does not know (a newer writer's)", () => {
    expect(decodeTeamFact("user", '{"claims":{},"updatedAt":1,"future":true}')).toEqual({
      claims: {},
      updatedAt: 1,
    });
  });

  it.each([
    ["", "organization"],
    ["not json", "organization"],
    ["null", "organization"],
    ["[]", "user"],
    ['"text"', "user"],
    ['{"memberCount":3}', "organization"],
    ['{"memberCount":"3","updatedAt":1}', "organization"],
    ['{"allowedDomains":"acme.com","updatedAt":1}', "organization"],
    ['{"claims":[1],"updatedAt":1}', "user"],
    ['{"claims":{"a":1},"updatedAt":"yesterday"}', "user"],
    ["\u0000\u00ff{", "user"],
  ] as const)("is undefined, without throwing, for %j as %s", (raw, kind) => {
    expect(decodeTeamFact(kind, raw)).toBeUndefined();
  });
});

describe("TeamFactStore", () => {
  const redisUrl = inject("redisUrl");
  // One prefix for the file, a sub-prefix per test; every key written under it is removed at the end.
  const filePrefix = `t${randomUUID().slice(0, 8)}`;
  let redis: Redis;
  let tests = 0;
  beforeAll(() => {
    redis = createRedis({ url: redisUrl }, "bullmq");
  });
  afterAll(async () => {
    const found = await redis.keys(`${filePrefix}-*`);
    if (found.length > 0) await redis.unlink(...found);
    await redis.quit();
  });
  const newKeys = () => cacheKeys(`${filePrefix}-${++tests}`);

  it("put writes the record at the team key without a TTL; get reads it; delete removes it", async () => {
    const keys = newKeys();
    const store = new TeamFactStore(redis, keys);
    const before = Date.now();
    const stored = await store.put("organization", "org_1", { memberCount: 4, allowedDomains: ["acme.com"] });
    expect(stored.updatedAt).toBeGreaterThanOrEqual(before);

    const key = `${keys.prefix}:v1:team:organization:org_1`;
    expect(JSON.parse((await redis.get(key)) ?? "null")).toEqual(stored);
    expect(await redis.ttl(key)).toBe(-1);
    expect(await store.get("organization", "org_1")).toEqual(stored);
    expect(await store.get("user", "org_1")).toBeUndefined();

    expect(await store.delete("organization", "org_1")).toBe(true);
    expect(await redis.exists(key)).toBe(0);
    expect(await store.delete("organization", "org_1")).toBe(false);
    expect(await store.get("organization", "org_1")).toBeUndefined();
  });

  it("put replaces the whole record, and a write without ttlSeconds clears an earlier TTL", async () => {
    const keys = newKeys();
    const store = new TeamFactStore(redis, keys);
    await store.put("user", "usr_1", { claims: { plan: "pro", seats: 5 } }, { ttlSeconds: 60 });
    const key = keys.team("user", "usr_1");
    expect(await redis.ttl(key)).toBeGreaterThan(55);

    await store.put("user", "usr_1", { claims: { plan: "free" } });
    expect((await store.get("user", "usr_1"))?.claims).toEqual({ plan: "free" });
    expect(await redis.ttl(key)).toBe(-1);
  });

  it("get is undefined for a corrupt record instead of throwing", async () => {
    const keys = newKeys();
    await redis.set(keys.team("organization", "org_bad"), "{truncated");
    expect(await new TeamFactStore(redis, keys).get("organization", "org_bad")).toBeUndefined();
  });

  it("putMany writes 1,201 records of both kinds in pipelines of 500, with an optional TTL", async () => {
    const keys = newKeys();
    const store = new TeamFactStore(redis, keys);
    const entries: TeamFactEntry[] = [];
    for (let i = 0; i < 1_201; i++) {
      entries.push(
        i % 2 === 0
          ? { kind: "organization", id: `org_${i}`, fact: { memberCount: i } }
          : { kind: "user", id: `usr_${i}`, fact: { claims: { n: i } } },
      );
    }
    const pipeline = vi.spyOn(redis, "pipeline");
    expect(await store.putMany(entries, { ttlSeconds: 300 })).toBe(1_201);
    expect(pipeline).toHaveBeenCalledTimes(3);
    pipeline.mockRestore();

    expect((await redis.keys(`${keys.prefix}:v1:team:*`)).length).toBe(1_201);
    expect(await store.get("organization", "org_1200")).toMatchObject({ memberCount: 1_200 });
    expect(await store.get("user", "usr_7")).toMatchObject({ claims: { n: 7 } });
    const ttl = await redis.ttl(keys.team("user", "usr_1199"));
    expect(ttl).toBeGreaterThan(295);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it("putMany surfaces a command that failed inside a pipeline instead of counting it written", async () => {
    const keys = newKeys();
    // A Redis user that may write organizations only: its SET of a user fails with NOPERM, the others succeed.
    const user = `t-${randomUUID()}`;
    await redis.call("ACL", "SETUSER", user, "on", ">pw", `~${keys.prefix}:v1:team:organization:*`, "+@all");
    const url = new URL(redisUrl);
    url.username = user;
    url.password = "pw";
    const limited = createRedis({ url: url.toString() }, "bullmq");
    try {
      await expect(
        new TeamFactStore(limited, keys).putMany([
          { kind: "organization", id: "org_1", fact: { memberCount: 1 } },
          { kind: "user", id: "usr_1", fact: {} },
        ]),
      ).rejects.toThrow(/NOPERM/);
    } finally {
      await limited.quit();
      await redis.call("ACL", "DELUSER", user);
    }
    expect(await redis.exists(keys.team("organization", "org_1"))).toBe(1);
  });
});
