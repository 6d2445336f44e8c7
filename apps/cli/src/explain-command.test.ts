import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type CacheKeys, cacheKeys } from "@gatehouse/decision-cache";
import { testRedis } from "@gatehouse/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { findAuditRecord } from "./audit-stream.js";
import { EXIT_NETWORK, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE } from "./cli.js";
import { auditRecord, writeAuditBatches } from "./testing/audit-records.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";

const redisUrl = inject("redisUrl");
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const exec = promisify(execFile);
const redis = testRedis("request-path");

const used: CacheKeys[] = [];
afterEach(async () => {
  for (const keys of used.splice(0)) await redis.del(keys.auditStream, keys.testAuditStream);
});

function newKeys(): CacheKeys {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  used.push(keys);
  return keys;
}

const explain = (keys: CacheKeys, ...args: string[]) =>
  runCliCollecting(["explain", ...args], testEnv({ redisUrl, keyPrefix: keys.prefix }));

describe("gatehouse explain", () => {
  it("finds one record among several batches and prints it readably", async () => {
    const keys = newKeys();
    const denied = auditRecord("ic_denied", {
      decision: "DENY",
      reason: "domain.disposable",
      rule: "block-disposable",
      cache: "waited",
      facts: { "email-domain": { domain: "mailinator.com", disposable: true } },
      team: { organization: { memberCount: 12 } },
      counts: { "ip:600": 3 },
      shadow: [{ rule: "watch-hosting", decision: "DENY", reason: "ip.hosting" }],
    });
    await writeAuditBatches(redis, keys, [
      [auditRecord("ic_1"), auditRecord("ic_2")],
      [auditRecord("ic_3"), denied, auditRecord("ic_4")],
      [auditRecord("ic_5")],
    ]);
    const entries = await redis.xrange(keys.auditStream, "-", "+");
    expect(entries).toHaveLength(3);

    const { code, stdout, stderr } = await explain(keys, "ic_denied");
    expect(stderr).toBe("");
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/^interceptor {2}ic_denied\nwhen {9}2025-10-09T09:48:02\.875Z \(\d+ days ago\)\n/);
    expect(stdout).toContain(
      [
        "trigger      PRE_SIGNUP",
        "decision     DENY",
        "reason       domain.disposable",
        "rule         block-disposable",
        "cache        waited (a fact was not cached and arrived while the request waited)",
        "latency      1.234 ms",
        "policy       0123456789ab",
        "environment  env_1",
        "facts",
        '  email-domain  {"domain":"mailinator.com","disposable":true}',
        "team",
        '  organization  {"memberCount":12}',
        "counts",
        "  ip:600  3",
        "shadow",
        "  watch-hosting  would DENY (ip.hosting)",
        `audit        ${keys.auditStream} entry ${entries[1]?.[0]}`,
      ].join("\n"),
    );
  });

  it("--json prints the record exactly as stored; a record without the newer fields prints what it has", async () => {
    const keys = newKeys();
    const old = {
      at: Date.now(),
      trigger: "PRE_SESSION_CREATION",
      interceptorId: "ic_old",
      decision: "ALLOW",
    };
    await writeAuditBatches(redis, keys, [[old], [auditRecord("ic_new")]]);
    const json = await explain(keys, "ic_old", "--json");
    expect(json.code).toBe(EXIT_OK);
    expect(JSON.parse(json.stdout)).toEqual(old);

    const text = await explain(keys, "ic_old");
    expect(text.stdout).toMatch(
      new RegExp(
        "^interceptor  ic_old\nwhen {9}\\S+ \\(\\d+ s ago\\)\ntrigger      PRE_SESSION_CREATION\n" +
          `decision     ALLOW\naudit        ${keys.auditStream} entry \\d+-\\d+\n$`,
      ),
    );
  });

  it("exits 4 when the id is not in the stream, saying how much the stream keeps", async () => {
    const keys = newKeys();
    await writeAuditBatches(redis, keys, [[auditRecord("ic_1")], [auditRecord("ic_2")]]);
    const { code, stdout, stderr } = await explain(keys, "ic_missing");
    expect(code).toBe(EXIT_NOT_FOUND);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      new RegExp(
        `^gatehouse: ic_missing: not found in ${keys.auditStream} \\(the audit keeps the last 2 batches, since \\S+Z\\)\n`,
      ),
    );
    expect(stderr).toContain(`test requests (gatehouse send) are in ${keys.testAuditStream}: add --test`);

    const empty = await explain(newKeys(), "ic_1");
    expect(empty.code).toBe(EXIT_NOT_FOUND);
    expect(empty.stderr).toContain("the stream is empty: check REDIS_URL and GATEHOUSE_KEY_PREFIX");
  });

  it("--test reads the test requests' stream, and only it", async () => {
    const keys = newKeys();
    await writeAuditBatches(redis, keys, [[auditRecord("ic_prod"), auditRecord("ic_test", { test: true })]]);
    expect(await redis.xlen(keys.testAuditStream)).toBe(1);

    const test = await explain(keys, "ic_test", "--test");
    expect(test.code).toBe(EXIT_OK);
    expect(test.stdout).toContain(
      "test         yes: sent by gatehouse send, audited apart from production\n",
    );
    expect(test.stdout).toContain(`audit        ${keys.testAuditStream} entry `);

    const production = await explain(keys, "ic_test");
    expect(production.code).toBe(EXIT_NOT_FOUND);
    const wrongStream = await explain(keys, "ic_prod", "--test");
    expect(wrongStream.code).toBe(EXIT_NOT_FOUND);
    expect(wrongStream.stderr).toContain(`production decisions are in ${keys.auditStream}: drop --test`);
  });

  it("exits 1 with the URL, without its password, when Redis cannot be reached", async () => {
    const { code, stdout, stderr } = await runCliCollecting(
      ["explain", "ic_1"],
      testEnv({ redisUrl: "redis://:hunter2@127.0.0.1:1" }),
    );
    expect(code).toBe(EXIT_NETWORK);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^gatehouse: could not reach redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
    expect(stderr).not.toContain("hunter2");
  });

  it.each([
    [["explain"], "missing <interceptor-id>"],
    [["explain", "ic_1", "ic_2"], 'unexpected argument "ic_2"'],
    [["explain", "ic_1", "--prod"], "Unknown option '--prod'"],
  ])("exits 2 for %j, naming %s", async (argv, named) => {
    const { code, stderr } = await runCliCollecting(argv, testEnv({ redisUrl }));
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(named);
  });

  it("runs through bin/gatehouse.mjs with REDIS_URL and GATEHOUSE_KEY_PREFIX from the environment", async () => {
    const keys = newKeys();
    await writeAuditBatches(redis, keys, [[auditRecord("ic_env", { decision: "DENY" })]]);
    const { stdout } = await exec(
      process.execPath,
      ["apps/cli/bin/gatehouse.mjs", "explain", "ic_env", "--json"],
      {
        cwd: repoRoot,
        env: { ...process.env, REDIS_URL: redisUrl, GATEHOUSE_KEY_PREFIX: keys.prefix },
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ interceptorId: "ic_env", decision: "DENY" });
  });
});

describe("findAuditRecord", () => {
  it("pages newest first without skipping or repeating a batch, and the newest record of an id wins", async () => {
    const keys = newKeys();
    const batches = Array.from({ length: 7 }, (_, b) => [
      auditRecord(`ic_${b}_a`),
      auditRecord(`ic_${b}_b`, { reason: `batch.${b}` }),
    ]);
    batches[1]?.push(auditRecord("ic_twice", { reason: "older" }));
    batches[5]?.push(auditRecord("ic_twice", { reason: "newer" }));
    batches[3]?.push(auditRecord("ic_dup", { reason: "first" }), auditRecord("ic_dup", { reason: "second" }));
    await writeAuditBatches(redis, keys, batches);
    const ids = (await redis.xrevrange(keys.auditStream, "+", "-")).map(([id]) => id);

    for (let b = 0; b < 7; b++) {
      const search = await findAuditRecord(redis, keys.auditStream, `ic_${b}_b`, 2);
      expect(search.found?.record.reason).toBe(`batch.${b}`);
      expect(search.found?.entryId).toBe(ids[6 - b]);
      expect(search.batches).toBe(7 - b);
    }
    const twice = await findAuditRecord(redis, keys.auditStream, "ic_twice", 2);
    expect(twice.found?.record.reason).toBe("newer");
    const dup = await findAuditRecord(redis, keys.auditStream, "ic_dup", 2);
    expect(dup.found?.record.reason).toBe("second");

    const missing = await findAuditRecord(redis, keys.auditStream, "ic_none", 2);
    expect(missing).toEqual({ batches: 7, oldestEntryId: ids[6] });
    // An id that is a substring of others is matched exactly, not by the text filter.
    expect((await findAuditRecord(redis, keys.auditStream, "ic_1", 2)).found).toBeUndefined();
  });
});
