// Issue 3: `gatehouse facts` against a real ingress (listening on 127.0.0.1) and the real Redis behind it.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheKeys, decodeTeamFact } from "@gatehouse/decision-cache";
import { createRedis, type Redis } from "@gatehouse/redis";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../apps/cli/src/cli.js";
import type { CliEnv } from "../apps/cli/src/env.js";
import { testEnv, testIngress } from "./support/ingress-harness.js";
import { freePort } from "./support/redis-server.js";
import { scanPrefix } from "./support/scan-prefix.js";

const redisUrl = inject("redisUrl");
const TOKEN = randomBytes(36).toString("base64url");
const dir = mkdtempSync(join(tmpdir(), "gatehouse-facts-cli-"));

let redis: Redis;
let ingress: FastifyInstance;
let off: FastifyInstance;
let url: string;
let offUrl: string;
let prefix: string;

async function listening(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

beforeAll(async () => {
  redis = createRedis({ url: redisUrl }, "bullmq");
  const env = testEnv(redisUrl, { GATEHOUSE_ADMIN_TOKEN: TOKEN });
  prefix = env.GATEHOUSE_KEY_PREFIX;
  ingress = await testIngress(env);
  url = await listening(ingress);
  // The same ingress without an admin token: its admin API is off.
  off = await testIngress(testEnv(redisUrl));
  offUrl = await listening(off);
});
afterAll(async () => {
  await Promise.all([ingress.close(), off.close()]);
  const found = await scanPrefix(redis, prefix);
  if (found.length > 0) await redis.unlink(...found.map(({ key }) => key));
  await redis.quit();
});

const keys = () => cacheKeys(prefix);

async function stored(kind: "organization" | "user", id: string) {
  const raw = await redis.get(keys().team(kind, id));
  return raw === null ? undefined : decodeTeamFact(kind, raw);
}

/** Runs `gatehouse …` in this process against the listening ingress, with the admin token unless told. */
async function gatehouse(argv: string[], env: Partial<CliEnv> = { adminToken: TOKEN }) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io = {
    stdout: (text: string) => void stdout.push(text),
    stderr: (text: string) => void stderr.push(text),
  };
  const code = await runCli(argv, { defaultUrl: url, secrets: [], ...env } as CliEnv, io);
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("gatehouse facts load", () => {
  it("writes a CSV's organizations and users, normalized, without a TTL, and prints the counts", async () => {
    const csv = file(
      "facts.csv",
      [
        "kind,id,memberCount,allowedDomains,claims",
        "organization,org_csv_1,12,Acme.com;acme.co.uk.,",
        "organization,org_csv_2,0,,",
        'user,usr_csv_1,,,"{""plan"":""pro"",""seats"":5}"',
      ].join("\n"),
    );
    const { code, stdout, stderr } = await gatehouse(["facts", "load", csv]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toBe(`${csv}: wrote 2 organizations and 1 user in 1 request\n`);
    expect(await stored("organization", "org_csv_1")).toMatchObject({
      memberCount: 12,
      allowedDomains: ["acme.com", "acme.co.uk"],
    });
    expect(await stored("organization", "org_csv_2")).toMatchObject({ memberCount: 0 });
    expect(await stored("user", "usr_csv_1")).toMatchObject({ claims: { plan: "pro", seats: 5 } });
    expect(await redis.ttl(keys().team("user", "usr_csv_1"))).toBe(-1);
  });

  it("posts a JSON file in batches (--batch), with --ttl, and --json prints the summary", async () => {
    const users = Array.from({ length: 5 }, (_, i) => ({ id: `usr_json_${i}`, claims: { n: i } }));
    const json = file("facts.json", JSON.stringify({ organizations: [{ id: "org_json" }], users }));
    const { code, stdout } = await gatehouse([
      "facts",
      "load",
      json,
      "--batch",
      "2",
      "--ttl",
      "600",
      "--json",
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      file: json,
      organizations: 1,
      users: 5,
      requests: 3,
      written: 6,
      dryRun: false,
    });
    expect(await stored("user", "usr_json_4")).toMatchObject({ claims: { n: 4 } });
    expect(await redis.ttl(keys().team("organization", "org_json"))).toBeGreaterThan(590);
  });

  it("writes nothing when a record in a later batch is invalid, and names its CSV line and field", async () => {
    const rows = Array.from({ length: 6 }, (_, i) => `organization,org_bad_${i},${i},ok${i}.example`);
    rows[4] = "organization,org_bad_4,-3,not_a_domain!";
    const csv = file("bad.csv", ["kind,id,memberCount,allowedDomains", ...rows].join("\n"));
    const { code, stdout, stderr } = await gatehouse(["facts", "load", csv, "--batch", "2"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("2 problems; nothing was written");
    expect(stderr).toContain(`${csv} line 6: memberCount: `);
    expect(stderr).toContain(`${csv} line 6: allowedDomains[0]: must be a host name`);
    expect(await scanPrefix(redis, `${prefix}:v1:team:organization:org_bad`)).toEqual([]);
  });

  it("refuses a file with a local problem before sending anything: bad claims JSON, repeated ids", async () => {
    const csv = file("local.csv", 'kind,id,claims\nuser,usr_l,{nope}\nuser,usr_m,\nuser,usr_m,"{}"\n');
    const { code, stderr } = await gatehouse(["facts", "load", csv]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/line 2: claims: not valid JSON/);
    expect(stderr).toContain('line 4: id "usr_m" repeats line 3');
    expect(await stored("user", "usr_m")).toBeUndefined();
  });

  it("--dry-run checks every record and writes none", async () => {
    const csv = file("dry.csv", "kind,id\nuser,usr_dry\n");
    const { code, stdout } = await gatehouse(["facts", "load", csv, "--dry-run"]);
    expect(code).toBe(0);
    expect(stdout).toContain("0 organizations and 1 user, all valid; nothing written (--dry-run)");
    expect(await stored("user", "usr_dry")).toBeUndefined();
  });
});

describe("gatehouse facts get / delete", () => {
  it("prints one record as JSON, deletes it, then says it is gone with exit code 4", async () => {
    await gatehouse([
      "facts",
      "load",
      file("one.json", '{"organizations":[{"id":"org/1 x","memberCount":7}]}'),
    ]);
    const got = await gatehouse(["facts", "get", "organization", "org/1 x"]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({
      id: "org/1 x",
      memberCount: 7,
      updatedAt: expect.any(Number),
    });

    const deleted = await gatehouse(["facts", "delete", "organization", "org/1 x"]);
    expect(deleted).toMatchObject({ code: 0, stdout: "deleted organization org/1 x\n" });
    expect(await stored("organization", "org/1 x")).toBeUndefined();

    const gone = await gatehouse(["facts", "get", "organization", "org/1 x"]);
    expect(gone).toMatchObject({ code: 4, stdout: "", stderr: 'gatehouse: no organization "org/1 x"\n' });
  });
});

describe("gatehouse facts: errors", () => {
  const csv = () => file("ok.csv", "kind,id\nuser,usr_err\n");

  it.each([
    ["no admin token", ["facts", "load", "x.csv"], {}, /no admin token: set GATEHOUSE_ADMIN_TOKEN/],
    [
      "a wrong admin token",
      ["facts", "get", "user", "u"],
      { adminToken: "x".repeat(48) },
      /refused the admin token/,
    ],
    [
      "an unknown kind",
      ["facts", "get", "team", "u"],
      { adminToken: TOKEN },
      /expected organization or user, got "team"/,
    ],
    ["no action", ["facts"], { adminToken: TOKEN }, /missing facts command: expected load, get or delete/],
    [
      "a bad --batch",
      ["facts", "load", "x.csv", "--batch", "0"],
      { adminToken: TOKEN },
      /--batch: "0" must be/,
    ],
  ])("exits 2 on %s", async (_name, argv, env, message) => {
    const args = argv.map((arg) => (arg === "x.csv" ? csv() : arg));
    const { code, stderr } = await gatehouse(args, env);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it("exits 2 and says the admin API is off when the ingress has no admin token", async () => {
    const { code, stderr } = await gatehouse(["facts", "load", csv(), "--url", offUrl]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      `no admin API at ${offUrl}: it is off unless the ingress has GATEHOUSE_ADMIN_TOKEN set`,
    );
  });

  it("exits 1 when nothing answers", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { code, stderr } = await gatehouse(["facts", "get", "user", "u", "--url", closed]);
    expect(code).toBe(1);
    expect(stderr).toBe(`gatehouse: could not reach ${closed}: ECONNREFUSED\n`);
  });

  it("lists facts in `gatehouse help`", async () => {
    const { stdout } = await gatehouse(["help"]);
    expect(stdout).toContain("gatehouse facts load <file>");
    expect(stdout).toContain("allowedDomains separated by");
  });
});
