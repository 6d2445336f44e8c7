import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type CacheKeys, cacheKeys } from "@gatehouse/decision-cache";
import { testRedis } from "@gatehouse/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { EXIT_NETWORK, EXIT_OK, EXIT_USAGE } from "./cli.js";
import { auditRecord, writeAuditBatches } from "./testing/audit-records.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";

const redisUrl = inject("redisUrl");
const redis = testRedis("request-path");

const used: CacheKeys[] = [];
afterEach(async () => {
  for (const keys of used.splice(0)) await redis.del(keys.auditStream, keys.testAuditStream);
});

function newKeys(): CacheKeys {
  const keys = cacheKeys(`d${randomUUID().slice(0, 8)}`);
  used.push(keys);
  return keys;
}

const decisions = (keys: CacheKeys, ...args: string[]) =>
  runCliCollecting(["decisions", ...args], testEnv({ redisUrl, keyPrefix: keys.prefix }));
const ids = (stdout: string) =>
  (JSON.parse(stdout) as { decisions: { interceptorId: string }[] }).decisions.map((d) => d.interceptorId);

/** Three batches, oldest first: what the filters below pick from. Returns the time they are relative to. */
async function writeSample(keys: CacheKeys): Promise<number> {
  const now = Date.now();
  await writeAuditBatches(redis, keys, [
    [
      auditRecord("ic_old_deny", {
        at: now - 3 * 3_600_000,
        decision: "DENY",
        reason: "email.disposable",
        rule: "disposable-email",
      }),
      auditRecord("ic_old_allow", { at: now - 3 * 3_600_000 }),
    ],
    [
      auditRecord("ic_session", {
        at: now - 60_000,
        trigger: "PRE_SESSION_CREATION",
        environmentId: "env_2",
      }),
      auditRecord("ic_forged", {
        at: now - 50_000,
        interceptorId: null,
        decision: "DENY",
        reason: "signature.invalid",
        cache: "none",
      }),
    ],
    [
      auditRecord("ic_expired", {
        at: now - 1_000,
        decision: "DENY",
        reason: "signature.expired",
        cache: "none",
      }),
      auditRecord("ic_new_deny", {
        at: now - 500,
        decision: "DENY",
        reason: "email.disposable",
        rule: "disposable-email",
        ms: 0.412,
        cache: "memory",
      }),
    ],
  ]);
  return now;
}

describe("gatehouse decisions", () => {
  it("lists the newest decisions first, a line each, and says how far back it read", async () => {
    const keys = newKeys();
    const now = await writeSample(keys);
    // The third match, which shows there are more, is in the second batch: the scan read back to it.
    const newest = await redis.xrevrange(keys.auditStream, "+", "-", "COUNT", 2);
    const written = Number(newest[1]?.[0].split("-")[0]);
    const run = await decisions(keys, "--limit", "2");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(EXIT_OK);
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    expect(run.stdout).toBe(
      [
        "when                      trigger     decision  reason             rule              cache    latency  interceptor id",
        `${at(500)}  PRE_SIGNUP  DENY      email.disposable   disposable-email  memory  0.412 ms  ic_new_deny`,
        `${at(1000)}  PRE_SIGNUP  DENY      signature.expired  -                 none    1.234 ms  ic_expired`,
        `2 decisions, newest first (--limit 2: older ones match too); read 3 decisions of ${keys.auditStream}, back to ${new Date(written).toISOString()}`,
        "",
      ].join("\n"),
    );
  });

  it("filters by decision, trigger, reason (a prefix up to a dot), rule, environment and time", async () => {
    const keys = newKeys();
    await writeSample(keys);
    const json = async (...args: string[]) => ids((await decisions(keys, "--json", ...args)).stdout);
    expect(await json("--decision", "deny")).toEqual(["ic_new_deny", "ic_expired", null, "ic_old_deny"]);
    expect(await json("--trigger", "pre-session-creation")).toEqual(["ic_session"]);
    expect(await json("--trigger", "PRE_SIGNUP", "--decision", "ALLOW")).toEqual(["ic_old_allow"]);
    expect(await json("--reason", "signature")).toEqual(["ic_expired", null]);
    expect(await json("--reason", "signature.")).toEqual(["ic_expired", null]);
    expect(await json("--reason", "signature.expired")).toEqual(["ic_expired"]);
    expect(await json("--reason", "signa")).toEqual([]);
    expect(await json("--rule", "disposable-email", "--since", "1h")).toEqual(["ic_new_deny"]);
    expect(await json("--env", "env_2")).toEqual(["ic_session"]);
    expect(await json("--since", "30s")).toEqual(["ic_new_deny", "ic_expired"]);
  });

  it("--json prints the records as stored, with what was read and whether more match", async () => {
    const keys = newKeys();
    await writeSample(keys);
    const run = await decisions(keys, "--json", "--decision", "DENY", "--limit", "1");
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ stream: keys.auditStream, read: 2, more: true });
    expect(out.decisions).toEqual([expect.objectContaining({ interceptorId: "ic_new_deny", ms: 0.412 })]);
    const all = JSON.parse((await decisions(keys, "--json", "--limit", "100")).stdout);
    expect(all).toMatchObject({ read: 6, more: false });
  });

  it("--count counts the matching decisions by trigger, decision, reason and rule, the most frequent first", async () => {
    const keys = newKeys();
    const now = Date.now();
    const deny = (id: string, at: number) =>
      auditRecord(id, { at, decision: "DENY", reason: "email.disposable", rule: "disposable-email" });
    await writeAuditBatches(redis, keys, [
      [deny("ic_1", now - 2 * 3_600_000), auditRecord("ic_2", { at: now - 2 * 3_600_000 })],
      [deny("ic_3", now - 2_000), deny("ic_4", now - 1_500), auditRecord("ic_5", { at: now - 1_000 })],
      [deny("ic_6", now - 500), auditRecord("ic_7", { at: now - 400, trigger: "PRE_SESSION_CREATION" })],
    ]);
    const run = await decisions(keys, "--count", "--since", "1h");
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout.split("\n").slice(0, 5)).toEqual([
      "count  share  trigger               decision  reason            rule",
      "    3  60.0%  PRE_SIGNUP            DENY      email.disposable  disposable-email",
      // Equal counts: the one seen first (the newest) first.
      "    1  20.0%  PRE_SESSION_CREATION  ALLOW     policy.default    -",
      "    1  20.0%  PRE_SIGNUP            ALLOW     policy.default    -",
      expect.stringMatching(
        new RegExp(`^5 decisions match; read 7 decisions of ${keys.auditStream}, back to \\S+Z$`),
      ),
    ]);
    const json = JSON.parse((await decisions(keys, "--count", "--decision", "DENY", "--json")).stdout);
    expect(json).toEqual({
      stream: keys.auditStream,
      read: 7,
      counts: [
        {
          trigger: "PRE_SIGNUP",
          decision: "DENY",
          reason: "email.disposable",
          rule: "disposable-email",
          count: 4,
        },
      ],
    });
    const refused = await decisions(keys, "--count", "--limit", "5");
    expect(refused.code).toBe(EXIT_USAGE);
    expect(refused.stderr).toContain("--limit: --count counts every decision that matches");
  });

  it("reads the test requests' stream with --test, and says when nothing matches or the stream is empty", async () => {
    const keys = newKeys();
    await writeAuditBatches(redis, keys, [[auditRecord("ic_sent", { test: true })]]);
    const empty = await decisions(keys);
    expect(empty.code).toBe(EXIT_OK);
    expect(empty.stdout).toBe(
      `no decision matches; read 0 decisions of ${keys.auditStream}\n` +
        "  the stream is empty: check REDIS_URL and GATEHOUSE_KEY_PREFIX; test requests (gatehouse send) are read with --test\n",
    );
    const test = await decisions(keys, "--test");
    expect(test.stdout).toContain("ic_sent");
    const none = await decisions(keys, "--test", "--decision", "DENY");
    expect(none.stdout).toMatch(
      new RegExp(`^no decision matches; read 1 decision of ${keys.testAuditStream}, back to \\S+Z\\n$`),
    );
  });

  it("--follow prints each matching decision as it is written, until interrupted", async () => {
    const keys = newKeys();
    await writeSample(keys); // history: not printed
    const child = spawn(
      process.execPath,
      ["apps/cli/bin/gatehouse.mjs", "decisions", "--follow", "--decision", "DENY"],
      {
        cwd: fileURLToPath(new URL("../../../", import.meta.url)),
        env: { ...process.env, REDIS_URL: redisUrl, GATEHOUSE_KEY_PREFIX: keys.prefix },
      },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    // Once the header is out, the follower knows where the stream ended: what is written next is printed.
    await expect.poll(() => stdout, { timeout: 10_000 }).toMatch(/^when {22}trigger/);
    await writeAuditBatches(redis, keys, [
      [
        auditRecord("ic_live_allow"),
        auditRecord("ic_live_deny", { decision: "DENY", reason: "ip.blocklisted" }),
      ],
      [auditRecord("ic_live_deny_2", { decision: "DENY", reason: "email.disposable" })],
    ]);
    await expect.poll(() => stdout.split("\n").length, { timeout: 10_000 }).toBe(4);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[1]).toMatch(/ PRE_SIGNUP {12}DENY {6}ip\.blocklisted .* ic_live_deny$/);
    expect(lines[2]).toMatch(/ DENY {6}email\.disposable .* ic_live_deny_2$/);
    expect(stdout).not.toContain("ic_live_allow");
    expect(stdout).not.toContain("ic_new_deny"); // written before it started
    child.kill("SIGINT");
    expect(await exited).toBe(EXIT_OK);
  });

  it("refuses bad flags, naming them", async () => {
    const keys = newKeys();
    const cases: [string[], string][] = [
      [["--limit", "0"], '--limit: "0" must be a whole number from 1 to 10000'],
      [["--decision", "MAYBE"], '--decision: "MAYBE" must be ALLOW or DENY'],
      [["--since", "forever"], '--since: "forever" must be a duration from 1s to 7d'],
      [["--trigger", "pre-lunch"], 'unknown trigger "pre-lunch"'],
      [["stray"], 'unexpected argument "stray"'],
      [["--follow", "--count"], "--follow prints decisions as they are made: no --count, --limit or --since"],
    ];
    for (const [args, message] of cases) {
      const run = await decisions(keys, ...args);
      expect(run.code).toBe(EXIT_USAGE);
      expect(run.stderr).toContain(message);
    }
  });

  it("exits 1 naming Redis when it cannot be reached", async () => {
    const run = await runCliCollecting(["decisions"], testEnv({ redisUrl: "redis://127.0.0.1:1" }));
    expect(run.code).toBe(EXIT_NETWORK);
    expect(run.stderr).toContain("could not reach redis://127.0.0.1:1");
  });

  it("runs through bin/gatehouse.mjs", async () => {
    const keys = newKeys();
    await writeSample(keys);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["apps/cli/bin/gatehouse.mjs", "decisions", "--decision", "DENY", "--json"],
      {
        cwd: fileURLToPath(new URL("../../../", import.meta.url)),
        env: { ...process.env, REDIS_URL: redisUrl, GATEHOUSE_KEY_PREFIX: keys.prefix },
      },
    );
    expect(ids(stdout)).toEqual(["ic_new_deny", "ic_expired", null, "ic_old_deny"]);
  });
});
