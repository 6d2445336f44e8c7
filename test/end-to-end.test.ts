import { randomUUID } from "node:crypto";
import { cacheKeys, decodeFact } from "@gatehouse/decision-cache";
import { ENRICHMENT_NAMES } from "@gatehouse/enrichments";
import { createRedis, type Redis } from "@gatehouse/redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildRequestBody } from "../apps/cli/src/build-request.js";
import { sendInterceptorRequest } from "../apps/cli/src/send-request.js";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { assertBuilt, INGRESS, WORKER } from "./support/artifacts.js";
import { waitUntilServing } from "./support/built-apps.js";
import { runTs, spawnTs, type TsProcess } from "./support/child-process.js";
import { SECRET } from "./support/ingress-harness.js";
import { freePort } from "./support/redis-server.js";

// The ingress and the worker as separate processes, as deployed, against the shared test Redis; driven
// over HTTP by the CLI (as a subprocess) and by its library function.

const redisUrl = inject("redisUrl");
const prefix = `e2e${randomUUID().slice(0, 8)}`;
const keys = cacheKeys(prefix);

let dns: StubDnsServer;
let redis: Redis;
let ingress: TsProcess | undefined;
let worker: TsProcess | undefined;
let url = "";
let workerUrl = "";

beforeAll(async () => {
  redis = createRedis({ url: redisUrl }, "bullmq");
  // MX lookups stay on loopback: gmail.com has MX records, every other name is NXDOMAIN.
  dns = await startStubDnsServer({ "gmail.com": { mx: [[5, "gmail-smtp-in.l.google.com"]] } });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const common = {
    REDIS_URL: redisUrl,
    SCALEKIT_INTERCEPTOR_SECRET: SECRET,
    GATEHOUSE_KEY_PREFIX: prefix,
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
  };
  // The deployable artifacts, as production runs them (`npm test` builds them first).
  assertBuilt();
  ingress = spawnTs(INGRESS, [], { ...common, PORT: String(port), HOST: "127.0.0.1" });
  const workerPort = await freePort();
  workerUrl = `http://127.0.0.1:${workerPort}`;
  worker = spawnTs(WORKER, [], {
    ...common,
    GATEHOUSE_WORKER_PORT: String(workerPort),
    HOST: "127.0.0.1",
    GATEHOUSE_DNS_SERVERS: dns.address,
    GATEHOUSE_MX_TIMEOUT_MS: "500",
  });

  await waitUntilServing({
    ingress,
    worker,
    url,
    redis,
    prefix,
    enrichments: ["email-domain", "ip-reputation"],
  });
}, 45_000);

afterAll(async () => {
  await Promise.allSettled([ingress?.kill(), worker?.kill()]);
  await dns?.close();
  await redis?.quit();
});

const send = (trigger: "PRE_SIGNUP" | "PRE_M2M_TOKEN_CREATION", options: { email?: string } = {}) =>
  sendInterceptorRequest({
    url,
    secret: SECRET,
    trigger,
    body: buildRequestBody(trigger, { email: options.email }),
    timeoutMs: 5_000,
  });

/** `gatehouse send pre-signup … --json`, as a user would run it. */
async function cli(...args: string[]) {
  const run = await runTs(
    "apps/cli/src/main.ts",
    ["send", "pre-signup", "--url", url, "--secret", SECRET, "--json", ...args],
    {},
    20_000,
  );
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { status: number; answer: unknown; valid: boolean; latencyMs: number };
}

describe("ingress and worker as processes", () => {
  it("answers the CLI: disposable DENY with a message, tampered and stale DENY", async () => {
    const [disposable, tampered, stale] = await Promise.all([
      cli("--email", "someone@mailinator.com"),
      cli("--email", "someone@mailinator.com", "--tamper"),
      cli("--email", "someone@mailinator.com", "--stale"),
    ]);
    expect(disposable.status).toBe(200);
    expect(disposable.valid).toBe(true);
    expect(disposable.answer).toEqual({
      decision: "DENY",
      error: {
        message: "Please sign up with a permanent email address; disposable addresses are not accepted.",
      },
    });
    for (const unverified of [tampered, stale]) {
      expect(unverified.status).toBe(200);
      expect(unverified.answer).toEqual({
        decision: "DENY",
        error: { message: "This request could not be verified." },
      });
    }
  });

  it("allows gmail.com, computed by the worker process with its offline MX lookup", async () => {
    const sent = await send("PRE_SIGNUP", { email: "someone@gmail.com" });
    expect(sent.status).toBe(200);
    expect(sent.answer).toEqual({ decision: "ALLOW" });
    // Answered on the worker's announcement, well before the 1 s wait budget ran out.
    expect(sent.latencyMs).toBeLessThan(900);
    const fact = decodeFact((await redis.get(keys.fact("email-domain", 1, "gmail.com"))) ?? "")?.fact;
    expect(fact).toEqual({
      domain: "gmail.com",
      registrable: "gmail.com",
      disposable: false,
      freeMail: true,
      mx: "present",
    });
    expect(dns.queries).toContain("gmail.com");
  });

  it("the worker's own port: ready, and its metrics count the jobs it completed", async () => {
    const ready = await fetch(`${workerUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ready",
      redis: true,
      workers: Object.fromEntries(ENRICHMENT_NAMES.map((name) => [name, "running"])),
    });
    const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
    // gmail.com's fact (the test before) is one of the email-domain jobs it ran.
    const completed = metrics.match(
      /^gatehouse_enrichment_jobs_total\{enrichment="email-domain",result="completed"\} (\d+)$/m,
    );
    expect(Number(completed?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(
      /^gatehouse_enrichment_queue_jobs\{enrichment="email-domain",state="waiting"\} \d+$/m,
    );
  });

  it("allows a PRE_M2M_TOKEN_CREATION", async () => {
    const sent = await send("PRE_M2M_TOKEN_CREATION");
    expect(sent.status).toBe(200);
    expect(sent.valid).toBe(true);
    expect(sent.decision).toBe("ALLOW");
  });

  it("both processes exit with code 0 on SIGTERM", async () => {
    const [ingressExit, workerExit] = await Promise.all([
      ingress!.stop("SIGTERM", 5_000),
      worker!.stop("SIGTERM", 5_000),
    ]);
    expect(ingressExit, ingress!.output()).toEqual({ code: 0, signal: null });
    expect(workerExit, worker!.output()).toEqual({ code: 0, signal: null });
    // Nothing else went wrong on the way: the only log lines are the two denied signatures' warnings.
    const lines = ingress!
      .output()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: number; msg: string; reason?: string });
    expect(lines.map((line) => [line.level, line.msg, line.reason]).sort()).toEqual([
      [40, "request denied before policy", "signature.no_matching_signature"],
      [40, "request denied before policy", "signature.too_old"],
    ]);
    expect(worker!.output()).toBe("");
  });
});
