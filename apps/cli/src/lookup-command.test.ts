import { cacheKeys, writeFact } from "@gatehouse/decision-cache";
import { bullPrefix, Enqueuer, jobName, queueName } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { testRedis } from "@gatehouse/testing";
import { Queue, Worker } from "bullmq";
import { describe, expect, inject, it } from "vitest";
import { EXIT_NETWORK, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE } from "./cli.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";
import { testPrefixes } from "./testing/test-prefixes.js";

const redis = testRedis("request-path");
const newPrefix = testPrefixes(redis, "l");
const emailDomain = ENRICHMENTS["email-domain"];

function setup() {
  const prefix = newPrefix();
  const env = testEnv({ redisUrl: inject("redisUrl"), keyPrefix: prefix });
  const keys = cacheKeys(prefix);
  const lookup = (...args: string[]) => runCliCollecting(["lookup", ...args], env);
  return { prefix, keys, lookup };
}

describe("gatehouse lookup", () => {
  it("prints each enrichment's cached fact with its times, and exits 4 when one is not cached", async () => {
    const { keys, lookup } = setup();
    const fact = {
      domain: "mailinator.com",
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
      mx: "present",
    };
    await writeFact(
      redis,
      keys,
      keys.fact("email-domain", emailDomain.version, "mailinator.com"),
      fact,
      86_400,
    );

    const run = await lookup("Jane@Mailinator.com", "203.0.113.5");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(EXIT_NOT_FOUND);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe("email-domain: mailinator.com");
    expect(lines[1]).toBe(`  fact        ${JSON.stringify(fact)}`);
    expect(lines[2]).toMatch(/^ {2}computed {4}\S+Z \(\d s ago\)$/);
    // The worker's writer takes 90-100% of the TTL (jitter); the refresh is due after 80% of it.
    expect(lines[3]).toMatch(/^ {2}refresh {5}\S+Z \(in 1[789] h\)$/);
    expect(lines[4]).toMatch(/^ {2}expires {5}\S+Z \(in 2[234] h\)$/);
    expect(lines[5]).toBe("  job         none waiting or failed");
    expect(lines[6]).toBe(
      `  key         ${keys.fact("email-domain", emailDomain.version, "mailinator.com")}`,
    );
    expect(lines[7]).toBe("ip-reputation: 203.0.113.5");
    expect(lines[8]).toMatch(/^ {2}fact {8}not cached/);
    expect(run.stdout).toContain("user-claims: nothing to look up in these values");

    const only = await lookup("--email", "jane@mailinator.com", "--enrichment", "email-domain", "--json");
    expect(only.code).toBe(EXIT_OK);
    expect(JSON.parse(only.stdout).lookups).toEqual([
      expect.objectContaining({
        enrichment: "email-domain",
        subject: "mailinator.com",
        cached: expect.objectContaining({ fact }),
      }),
    ]);
  });

  it("shows the subject's job while it waits, and the last failure with its error once it failed", async () => {
    const { prefix, lookup } = setup();
    const enqueuer = new Enqueuer({ connection: redis, keyPrefix: prefix });
    expect(await enqueuer.enqueue(emailDomain, { domain: "slow.test" })).toBe("added");
    await enqueuer.close();
    const waiting = await lookup("a@slow.test", "--enrichment", "email-domain");
    expect(waiting.code).toBe(EXIT_NOT_FOUND);
    expect(waiting.stdout).toMatch(/\n {2}job {9}waiting since \d s ago, 0 of 3 runs \(job [\w-]+\)\n/);

    // A job for another subject, and one for this subject that fails for good.
    const queue = new Queue(queueName(emailDomain), { connection: redis, prefix: bullPrefix(prefix) });
    await queue.add(jobName(emailDomain), { domain: "other.test" }, { attempts: 1 });
    await queue.add(jobName(emailDomain), { domain: "broken.test" }, { attempts: 1 });
    const worker = new Worker(
      queueName(emailDomain),
      async (job) => {
        if (job.data.domain === "broken.test") throw new Error("resolver timed out");
      },
      { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix: bullPrefix(prefix) },
    );
    try {
      await expect.poll(() => queue.getFailedCount(), { timeout: 10_000 }).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
    }
    const failed = await lookup("a@broken.test", "--enrichment", "email-domain");
    expect(failed.code).toBe(EXIT_NOT_FOUND);
    expect(failed.stdout).toMatch(
      /\n {2}job {9}none waiting; the last failed \d s ago after 1 of 1 runs: resolver timed out \(job \d+\)\n/,
    );
  });

  it("refuses no value, two values of one kind, a value the ingress would refuse and an unknown enrichment", async () => {
    const { lookup } = setup();
    const cases: [string[], string][] = [
      [[], "lookup: nothing to look up"],
      [["a@x.test", "b@y.test"], 'lookup: two values for email ("a@x.test", "b@y.test")'],
      [["--ip", "10.0.0.300"], "lookup: ip: not an IPv4 or IPv6 address"],
      [["a@x.test", "--enrichment", "no-such-enrichment"], 'no enrichment named "no-such-enrichment"'],
    ];
    for (const [args, message] of cases) {
      const run = await lookup(...args);
      expect(run.code).toBe(EXIT_USAGE);
      expect(run.stderr).toContain(message);
    }
  });

  it("exits 1 naming Redis when it cannot be reached", async () => {
    const run = await runCliCollecting(["lookup", "a@x.test"], testEnv({ redisUrl: "redis://127.0.0.1:1" }));
    expect(run.code).toBe(EXIT_NETWORK);
    expect(run.stderr).toContain("could not reach redis://127.0.0.1:1");
  });
});
