import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheKeys, writeFact } from "@gatehouse/decision-cache";
import { bullPrefix, queueName } from "@gatehouse/enrichment-sdk";
import { ENRICHMENT_NAMES, ENRICHMENTS } from "@gatehouse/enrichments";
import { testRedis } from "@gatehouse/testing";
import { Queue } from "bullmq";
import { describe, expect, inject, it } from "vitest";
import { EXIT_NETWORK, EXIT_OK, EXIT_USAGE } from "./cli.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";
import { testPrefixes } from "./testing/test-prefixes.js";

const redis = testRedis("request-path");
const newPrefix = testPrefixes(redis, "w");
const dir = mkdtempSync(join(tmpdir(), "warm-command-"));

function setup() {
  const prefix = newPrefix();
  const env = testEnv({ redisUrl: inject("redisUrl"), keyPrefix: prefix });
  const file = (name: string, text: string) => {
    const path = join(dir, `${prefix}-${name}`);
    writeFileSync(path, text);
    return path;
  };
  /** The subjects of the jobs waiting in one enrichment's queue. */
  const queued = async (name: keyof typeof ENRICHMENTS) => {
    const queue = new Queue(queueName(ENRICHMENTS[name]), { connection: redis, prefix: bullPrefix(prefix) });
    try {
      const jobs = await queue.getJobs(["waiting", "prioritized", "delayed"]);
      return jobs.map((job) => ENRICHMENTS[name].subject(job.data as never)).sort();
    } finally {
      await queue.close();
    }
  };
  const keys = cacheKeys(prefix);
  /** What the email-domain worker would write about `domain`. */
  const cacheDomain = (domain: string) =>
    writeFact(
      redis,
      keys,
      keys.fact("email-domain", 1, domain),
      { domain, registrable: null, disposable: false, freeMail: false, mx: "present" },
      60,
    );
  return { env, file, queued, cacheDomain };
}

describe("gatehouse warm", () => {
  it("asks for each subject's fact once, skipping facts cached, and says what it did", async () => {
    const { env, file, queued, cacheDomain } = setup();
    await cacheDomain("cached.test");
    const txt = file("a.txt", "jane@acme.test\nbob@acme.test\nx@cached.test\n203.0.113.5\n");
    const csv = file("a.csv", "email,ip,org,user\njoe@other.test,203.0.113.5,org_1,usr_1\n");

    const run = await runCliCollecting(["warm", txt, csv], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toContain("email-domain: 3 subjects, 1 cached, 2 jobs added");
    expect(run.stdout).toContain("ip-reputation: 1 subject, 0 cached, 1 job added");
    expect(run.stdout).toContain("user-claims: 1 subject, 0 cached, 1 job added");
    expect(await queued("email-domain")).toEqual(["acme.test", "other.test"]);
    expect(await queued("ip-reputation")).toEqual(["203.0.113.5"]);
    expect(await queued("user-claims")).toEqual(["org_1:usr_1"]);

    // Again: the jobs are there already, nothing is queued twice.
    const again = await runCliCollecting(["warm", txt, "--enrichment", "email-domain", "--json"], env);
    expect(again.code).toBe(EXIT_OK);
    expect(JSON.parse(again.stdout).enrichments).toEqual([
      { enrichment: "email-domain", subjects: 2, cached: 1, added: 0, deduplicated: 1, failed: 0 },
    ]);
    expect(await queued("email-domain")).toEqual(["acme.test", "other.test"]);
  });

  it("with --refresh asks for cached facts too; with --dry-run asks for nothing", async () => {
    const { env, file, queued, cacheDomain } = setup();
    await cacheDomain("cached.test");
    const txt = file("a.txt", "x@cached.test\ny@new.test\n");
    const dry = await runCliCollecting(["warm", txt, "--dry-run", "--enrichment", "email-domain"], env);
    expect(dry.code).toBe(EXIT_OK);
    expect(dry.stdout).toContain("email-domain: 2 subjects, 1 cached, 1 to ask for (--dry-run: none asked)");
    expect(await queued("email-domain")).toEqual([]);
    const refresh = await runCliCollecting(["warm", txt, "--refresh", "--enrichment", "email-domain"], env);
    expect(refresh.stdout).toContain("email-domain: 2 subjects, 0 cached, 2 jobs added");
    expect(await queued("email-domain")).toEqual(["cached.test", "new.test"]);
  });

  it("with --wait waits for the workers to write the facts, and fails when they do not come", async () => {
    const { env, file, cacheDomain } = setup();
    const txt = file("a.txt", "a@one.test\nb@two.test\n");
    const waiting = runCliCollecting(["warm", txt, "--enrichment", "email-domain", "--wait", "5"], env);
    // The workers' part, done by hand once the jobs are there.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const domain of ["one.test", "two.test"]) await cacheDomain(domain);
    const run = await waiting;
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toContain("email-domain: 2 subjects, 0 cached, 2 jobs added, 2 written");
    expect(run.stdout).toContain("every fact asked for is written");

    const none = file("b.txt", "c@three.test\n");
    const timedOut = await runCliCollecting(
      ["warm", none, "--enrichment", "email-domain", "--wait", "7"],
      env,
    );
    expect(timedOut.code).toBe(EXIT_NETWORK);
    expect(timedOut.stdout).toContain("1 fact still not written after 7 s: are the workers running?");
    // A long wait says how far the workers are, every 5 s.
    expect(timedOut.stderr).toBe("waiting for the workers: 0 of 1 fact written\n");

    // A refresh waits for the new fact: the one cached already does not count.
    const refresh = await runCliCollecting(
      ["warm", txt, "--enrichment", "email-domain", "--refresh", "--wait", "1"],
      env,
    );
    expect(refresh.code).toBe(EXIT_NETWORK);
    expect(refresh.stdout).toContain("2 facts still not written after 1 s");
  });

  it("reads a file of hundreds of thousands of lines", async () => {
    const { env, file } = setup();
    const lines = Array.from({ length: 200_000 }, (_, i) => `u${i}@d${i % 100}.test`);
    const run = await runCliCollecting(
      ["warm", file("big.txt", lines.join("\n")), "--dry-run", "--enrichment", "email-domain"],
      env,
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("200,000 lines");
    expect(run.stdout).toContain("email-domain: 100 subjects, 0 cached, 100 to ask for");
  });

  it("enqueues nothing when a line has a problem, and names it", async () => {
    const { env, file, queued } = setup();
    const txt = file("a.txt", "jane@acme.test\nnot-an-address\n");
    const run = await runCliCollecting(["warm", txt], env);
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toBe(
      `gatehouse: 1 problem; nothing was enqueued\n  ${txt} line 2: email: not an email address\n`,
    );
    expect(await queued("email-domain")).toEqual([]);
  });

  it("counts every problem in a file of many bad lines, and lists the first 20", async () => {
    const { env, file, queued } = setup();
    const lines = Array.from({ length: 5_000 }, (_, i) => (i % 2 === 0 ? `u${i}@ok.test` : `bad-${i}`));
    const run = await runCliCollecting(["warm", file("bad.txt", lines.join("\n"))], env);
    expect(run.code).toBe(EXIT_USAGE);
    const stderr = run.stderr.split("\n");
    expect(stderr[0]).toBe("gatehouse: 2,500 problems; nothing was enqueued");
    expect(stderr[1]).toMatch(/bad\.txt line 2: email: not an email address$/);
    expect(stderr[20]).toMatch(/bad\.txt line 40: email: not an email address$/);
    expect(stderr[21]).toBe("  … and 2,480 more");
    expect(await queued("email-domain")).toEqual([]);
  });

  it("refuses an unknown enrichment, a bad --wait, and a missing file argument", async () => {
    const { env, file } = setup();
    const txt = file("a.txt", "jane@acme.test\n");
    const unknown = await runCliCollecting(["warm", txt, "--enrichment", "no-such-enrichment"], env);
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.stderr).toContain(
      `no enrichment named "no-such-enrichment" (registered: ${ENRICHMENT_NAMES.join(", ")})`,
    );
    expect((await runCliCollecting(["warm", txt, "--wait", "0"], env)).stderr).toContain("--wait");
    expect((await runCliCollecting(["warm"], env)).stderr).toContain("warm: missing <file>");
  });

  it("reads - from standard input, through bin/gatehouse.mjs", async () => {
    const { env, queued } = setup();
    const child = spawn(process.execPath, ["apps/cli/bin/gatehouse.mjs", "warm", "-", "--json"], {
      cwd: fileURLToPath(new URL("../../../", import.meta.url)),
      env: { ...process.env, REDIS_URL: env.redisUrl, GATEHOUSE_KEY_PREFIX: env.keyPrefix },
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdin.end("a@piped.test\n198.51.100.9\n");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout)).toMatchObject({ files: ["-"], lines: 2 });
    expect(await queued("email-domain")).toEqual(["piped.test"]);
    expect(await queued("ip-reputation")).toEqual(["198.51.100.9"]);
  });

  it("says when Redis cannot be reached", async () => {
    const { file } = setup();
    const env = testEnv({ redisUrl: "redis://127.0.0.1:1" });
    const run = await runCliCollecting(["warm", file("a.txt", "jane@acme.test\n")], env);
    expect(run.code).toBe(EXIT_NETWORK);
    expect(run.stderr).toContain("could not reach redis://127.0.0.1:1");
  });
});
