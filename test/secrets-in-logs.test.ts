// Issue 5: the signing secret and the signature header values never reach a log line (ingress, worker, start-up
// failures) or /metrics, and the audit stream holds no email address, IP address or user id.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { cacheKeys } from "@gatehouse/decision-cache";
import { buildApp } from "@gatehouse/ingress/src/app.js";
import { createRedis, type Redis } from "@gatehouse/redis";
import { generateSecret, sign } from "@gatehouse/signature";
import { createLogger } from "@gatehouse/telemetry";
import { parseWorkerEnv } from "@gatehouse/worker/src/env.js";
import { startWorkers } from "@gatehouse/worker/src/start-workers.js";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { ROOT } from "./support/child-process.js";
import { NO_WAIT_POLICY } from "./support/hostile-harness.js";
import { body, SECRET, testEnv } from "./support/ingress-harness.js";

const redisUrl = inject("redisUrl");
const suffix = randomUUID().slice(0, 8);
const prefix = `s${suffix}`;
const keys = cacheKeys(prefix);
/** A second secret configured for rotation: it must stay out of the logs just the same. */
const ROTATED_SECRET = generateSecret();
const CLAIMS_TOKEN = `claims-token-${randomUUID()}`;

// Personal data sent in the requests, to look for in the audit stream.
const EMAIL_DOMAIN = `mail${suffix}.example`;
const EMAILS = [`jane.${suffix}@${EMAIL_DOMAIN}`, `john.${suffix}@acme.test`];
const IPS = ["198.51.100.77", "2001:db8::77", "::ffff:203.0.113.77"];
const USER_IDS = [`usr_${suffix}_1`, `usr_${suffix}_2`];

/** The processes' own logger (with its redaction), at the most verbose level, writing into memory. */
function capturedLogger(name: string) {
  const lines: string[] = [];
  const log = createLogger({
    name,
    level: "trace",
    destination: { write: (line: string) => lines.push(line) },
  });
  return { log, text: () => lines.join("") };
}

/** The secret material: each secret, its base64 key part, and every 12-character slice of the key. */
function secretNeedles(...secrets: string[]): string[] {
  const needles: string[] = [];
  for (const secret of secrets) {
    const key = secret.slice(secret.indexOf("_") + 1);
    needles.push(secret, key);
    for (let start = 0; start + 12 <= key.length; start++) needles.push(key.slice(start, start + 12));
  }
  return needles;
}

function expectNoneIn(text: string, needles: readonly string[], what: string) {
  const found = needles.filter((needle) => text.includes(needle));
  expect(found, `${what} contains secret material`).toEqual([]);
}

describe("the ingress and the worker at work", () => {
  const ingressLog = capturedLogger("ingress");
  const workerLog = capturedLogger("worker");
  /** Every interceptor-signature value sent, valid or not. */
  const signatures: string[] = [];
  let redis: Redis;
  let dns: StubDnsServer;
  let claims: Server;
  let app: FastifyInstance;
  let metricsText = "";
  const claimsAuthorizations: string[] = [];

  beforeAll(async () => {
    redis = createRedis({ url: redisUrl }, "bullmq");
    dns = await startStubDnsServer({ [EMAIL_DOMAIN]: { mx: [[10, `mx.${EMAIL_DOMAIN}`]] } });
    // The team's claims service, failing: the worker logs the failure, and must not log its bearer token.
    claims = createServer((request, response) => {
      claimsAuthorizations.push(String(request.headers.authorization));
      request.resume();
      response.writeHead(500, { "content-type": "text/plain" }).end(`no claims for ${CLAIMS_TOKEN}`);
    });
    await new Promise<void>((resolve) => claims.listen(0, "127.0.0.1", resolve));
    const claimsUrl = `http://127.0.0.1:${(claims.address() as AddressInfo).port}/claims`;

    const env = testEnv(redisUrl, {
      GATEHOUSE_KEY_PREFIX: prefix,
      SCALEKIT_INTERCEPTOR_SECRET: `${SECRET}, ${ROTATED_SECRET}`,
      LOG_LEVEL: "trace",
      GATEHOUSE_BODY_LIMIT_BYTES: "4096",
    });
    app = await buildApp({ env, log: ingressLog.log, policy: NO_WAIT_POLICY });
    await app.ready();

    // The worker gets the deployment's whole environment, the signing secret included.
    const source = {
      REDIS_URL: redisUrl,
      GATEHOUSE_KEY_PREFIX: prefix,
      LOG_LEVEL: "trace",
      SCALEKIT_INTERCEPTOR_SECRET: `${SECRET},${ROTATED_SECRET}`,
      GATEHOUSE_ENRICHMENTS: "email-domain,ip-reputation,user-claims",
      GATEHOUSE_WARM: "false",
      GATEHOUSE_DNS_SERVERS: dns.address,
      GATEHOUSE_MX_TIMEOUT_MS: "300",
      GATEHOUSE_CLAIMS_URL: claimsUrl,
      GATEHOUSE_CLAIMS_TOKEN: CLAIMS_TOKEN,
    };
    const workers = await startWorkers(parseWorkerEnv(source), workerLog.log);

    try {
      await traffic();
      // The worker computed the email-domain fact and failed the claims job (logged, with its reason).
      await vi.waitFor(
        async () => {
          expect(await redis.exists(keys.fact("email-domain", 1, EMAIL_DOMAIN))).toBe(1);
          expect(workerLog.text()).toContain("enrichment job failed");
        },
        { timeout: 10_000, interval: 50 },
      );
      metricsText = (await app.inject("/metrics")).body;
    } finally {
      await workers.close();
      await app.close(); // flushes the audit buffer
    }
  }, 30_000);

  afterAll(async () => {
    await dns?.close();
    await new Promise((resolve) => claims?.close(resolve));
    await redis?.quit();
  });

  async function post(
    route: string,
    payload: string,
    options: {
      secret?: string;
      timestamp?: number;
      tamper?: boolean;
      signature?: string;
      contentType?: string;
    } = {},
  ) {
    const id = `msg_${randomUUID()}`;
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature =
      options.signature ?? sign({ secret: options.secret ?? SECRET, id, timestamp, body: payload });
    signatures.push(signature);
    const response = await app.inject({
      method: "POST",
      url: `/auth/interceptors${route}`,
      headers: {
        "content-type": options.contentType ?? "application/json",
        "interceptor-id": id,
        "interceptor-timestamp": String(timestamp),
        "interceptor-signature": signature,
      },
      payload: options.tamper ? payload.replace("}", ', "x": 1}') : payload,
    });
    expect([200, 413]).toContain(response.statusCode);
    return response;
  }

  async function traffic() {
    const signup = (email: string, ip: string) =>
      JSON.stringify(body("PRE_SIGNUP_NEW_USER", { user_email: email, ip_address: ip }));
    const session = (userId: string, ip: string) =>
      JSON.stringify(
        body("PRE_SESSION_CREATION", { user_id: userId, user_email: EMAILS[1], ip_address: ip }),
      );
    // Valid, with either secret of the rotation.
    await post("/pre-signup", signup(EMAILS[0]!, IPS[0]!));
    await post("/pre-signup", signup(EMAILS[1]!, IPS[1]!), { secret: ROTATED_SECRET });
    await post("/pre-session-creation", session(USER_IDS[0]!, IPS[2]!));
    await post(
      "/pre-user-invitation",
      JSON.stringify(body("PRE_USER_INVITATION", { user_email: EMAILS[0] })),
    );
    await post("", JSON.stringify({ ...body("PRE_M2M_TOKEN_CREATION"), gatehouse_test: true }));
    // An idempotent repeat: the same id and signature twice.
    {
      const payload = session(USER_IDS[1]!, IPS[0]!);
      const id = `msg_${randomUUID()}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = sign({ secret: SECRET, id, timestamp, body: payload });
      signatures.push(signature);
      for (let i = 0; i < 2; i++) {
        await app.inject({
          method: "POST",
          url: "/auth/interceptors/pre-session-creation",
          headers: {
            "content-type": "application/json",
            "interceptor-id": id,
            "interceptor-timestamp": String(timestamp),
            "interceptor-signature": signature,
          },
          payload,
        });
      }
    }
    // Failing verification, every way.
    await post("/pre-signup", signup(EMAILS[0]!, IPS[0]!), { tamper: true });
    await post("/pre-signup", signup(EMAILS[1]!, IPS[1]!), { secret: generateSecret() });
    await post("/pre-signup", signup(EMAILS[0]!, IPS[2]!), {
      timestamp: Math.floor(Date.now() / 1000) - 3_600,
    });
    await post("/pre-signup", signup(EMAILS[0]!, IPS[0]!), { signature: `v1,${"A".repeat(43)}= v1,junk` });
    await app.inject({
      method: "POST",
      url: "/auth/interceptors/pre-signup",
      payload: signup(EMAILS[1]!, IPS[1]!),
    });
    // Verified, but the body cannot be used; refused before verification.
    await post("/pre-signup", "{not json");
    await post("/pre-signup", JSON.stringify(body("PRE_SIGNUP_NEW_USER", { user_email: 42 })));
    await post("/pre-signup", JSON.stringify(body("PRE_SESSION_CREATION")));
    await post("/pre-signup", JSON.stringify({ ...body("PRE_SIGNUP_NEW_USER"), pad: "x".repeat(5_000) }));
    await post("/pre-signup", signup(EMAILS[0]!, IPS[0]!), { contentType: "@@@" });
    // Everything else a client can reach.
    for (const url of ["/metrics", "/healthz", "/readyz", "/nope", "/auth/interceptors/pre-signup"])
      await app.inject(url);
  }

  it("captured something: the ingress' denials and answers, and the worker's job failure", () => {
    const ingress = ingressLog.text();
    for (const reason of ["signature.no_matching_signature", "signature.too_old", "signature.missing_header"])
      expect(ingress).toContain(reason);
    expect(ingress).toContain("body.invalid_json");
    expect(ingress).toContain('"msg":"answered"');
    expect(workerLog.text()).toContain("worker running");
    // The token did reach the claims service: it is a real secret the worker holds.
    expect(claimsAuthorizations).toContain(`Bearer ${CLAIMS_TOKEN}`);
  });

  it("logs neither signing secret, nor the claims token, nor any signature header value", () => {
    const needles = [...secretNeedles(SECRET, ROTATED_SECRET), CLAIMS_TOKEN];
    const signatureNeedles = signatures.flatMap((value) =>
      value.split(" ").flatMap((entry) => [entry, entry.slice(3)].filter((part) => part.length >= 8)),
    );
    for (const [what, text] of [
      ["ingress log", ingressLog.text()],
      ["worker log", workerLog.text()],
      ["/metrics", metricsText],
    ] as const) {
      expectNoneIn(text, needles, what);
      expectNoneIn(text, signatureNeedles, what);
    }
  });

  it("keeps email addresses, IP addresses and user ids out of the audit stream", async () => {
    const records = async (stream: string) => {
      const entries = await redis.xrange(stream, "-", "+");
      return entries.flatMap(([, fields]) => JSON.parse(fields[1] ?? "[]") as Record<string, unknown>[]);
    };
    const production = await records(keys.auditStream);
    const test = await records(keys.testAuditStream);
    // Not vacuous: every counted answer is there (repeats are audited once), with its interceptor id.
    expect(production.length).toBeGreaterThanOrEqual(13);
    expect(test.length).toBe(1);
    expect(production.every((record) => typeof record.decision === "string")).toBe(true);

    const text = JSON.stringify([...production, ...test]);
    for (const value of [...EMAILS, EMAIL_DOMAIN, "acme.test", ...IPS, "203.0.113.77", ...USER_IDS, suffix]) {
      expect(text, value).not.toContain(value);
    }
    expect(text).not.toMatch(/@/);
    expect(text).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/);
    expect(text).not.toMatch(/usr_/);
  });
});

/** Runs a built app (plain node, as production does) with only this environment, to its exit. */
function runNode(entry: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [entry],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, timeout: 15_000, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("starting with a bad configuration (the built apps, as deployed)", () => {
  const INGRESS = "apps/ingress/dist/server.js";
  const WORKER = "apps/worker/dist/main.js";
  const needles = [...secretNeedles(SECRET, ROTATED_SECRET), CLAIMS_TOKEN];
  // A secret with one character wrong: the message must name the setting, not echo the value.
  const MISTYPED = `${SECRET.slice(0, -4)}*${SECRET.slice(-3)}`;

  it("exits 78 with a message naming the setting, and no secret material, for each bad setting", async () => {
    const common = {
      REDIS_URL: redisUrl,
      GATEHOUSE_KEY_PREFIX: `${prefix}b`,
      LOG_LEVEL: "trace",
      SCALEKIT_INTERCEPTOR_SECRET: `${SECRET},${ROTATED_SECRET}`,
      GATEHOUSE_CLAIMS_TOKEN: CLAIMS_TOKEN,
      NODE_ENV: "production",
    };
    const cases: { entry: string; env: Record<string, string>; expect: RegExp }[] = [
      {
        entry: INGRESS,
        env: { SCALEKIT_INTERCEPTOR_SECRET: `${SECRET},${MISTYPED}` },
        expect: /signing secret/,
      },
      { entry: INGRESS, env: { PORT: SECRET }, expect: /PORT/ },
      { entry: INGRESS, env: { REDIS_URL: SECRET }, expect: /REDIS_URL/ },
      { entry: INGRESS, env: { GATEHOUSE_POLICY: `/nonexistent/${suffix}.yaml` }, expect: /cannot start/ },
      { entry: WORKER, env: { GATEHOUSE_ENRICHMENTS: "nope" }, expect: /GATEHOUSE_ENRICHMENTS/ },
      {
        entry: WORKER,
        env: {
          GATEHOUSE_CLAIMS_URL: `not a url ${CLAIMS_TOKEN}`,
          GATEHOUSE_ENRICHMENTS: "user-claims",
          GATEHOUSE_WARM: "false",
        },
        expect: /GATEHOUSE_CLAIMS_URL/,
      },
    ];
    for (const { entry } of cases) {
      if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} is missing: run npm run build first`);
    }
    const results = await Promise.all(
      cases.map(async (c) => ({ c, ...(await runNode(c.entry, { ...common, ...c.env })) })),
    );
    for (const { c, code, stdout, stderr } of results) {
      const what = `${c.entry} with ${Object.keys(c.env).join(", ")}`;
      const output = `${stdout}${stderr}`;
      expect(code, `${what}:\n${output}`).toBe(78);
      expect(output, what).toMatch(c.expect);
      // Neither the configured secrets, nor the mistyped one, nor the token.
      expectNoneIn(output, [...needles, ...secretNeedles(MISTYPED)], what);
    }
  }, 30_000);
});
