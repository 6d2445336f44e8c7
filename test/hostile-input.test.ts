// Issue 5: every hostile or malformed request gets HTTP 200 and a DENY (413 with a DENY body over the body
// limit), nothing else, and the ingress keeps answering afterwards. Through `app.inject`, and through a real
// socket where only exact bytes make the case (duplicated header lines, Node's own HTTP limits).
import { Agent, get } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheKeys, writeFact } from "@gatehouse/decision-cache";
import { buildApp } from "@gatehouse/ingress/src/app.js";
import { createRedis, type Redis } from "@gatehouse/redis";
import { sign, signedHeaders } from "@gatehouse/signature";
import { createLogger } from "@gatehouse/telemetry";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import {
  expectAnswer,
  expectDeny,
  expectStillAnswers,
  injectRaw,
  NO_WAIT_POLICY,
  rawHttp,
  rawPost,
  trickleHttp,
  UNREADABLE,
  UNVERIFIED,
} from "./support/hostile-harness.js";
import { body, emailFact, SECRET, testEnv, testIngress, UNKNOWN_IP } from "./support/ingress-harness.js";

const redisUrl = inject("redisUrl");
const OTHER_SECRET = "whsec_c2VjcmV0LW5vYm9keS1rbm93cw==";
const M2M = "/pre-m2m-token-creation";
const SIGNUP = "/pre-signup";
const DISPOSABLE_MESSAGE = /disposable/;
const NETWORK_MESSAGE = /network/;

let redis: Redis;
let app: FastifyInstance;
let port = 0;
let keys: ReturnType<typeof cacheKeys>;

beforeAll(async () => {
  redis = createRedis({ url: redisUrl }, "bullmq");
  const env = testEnv(redisUrl);
  keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  app = await testIngress(env, NO_WAIT_POLICY);
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as { port: number }).port;
  const facts: [string, boolean][] = [
    ["trashmail.test", true],
    ["acme.test", false],
    ["xn--bcher-kva.de", true], // bücher.de, as the email-domain enrichment normalizes it
  ];
  for (const [domain, disposable] of facts) {
    await writeFact(redis, keys, keys.fact("email-domain", 1, domain), emailFact(domain, disposable), 600);
  }
  const ip = "203.0.113.9";
  await writeFact(
    redis,
    keys,
    keys.fact("ip-reputation", 2, ip),
    { ...UNKNOWN_IP, ip, lists: ["firehol"], listed: true },
    600,
  );
});

afterAll(async () => {
  await app?.close();
  await redis?.quit();
});

// After every batch of hostile input: a valid signed request is answered normally, and /healthz is ok.
afterEach(async () => {
  await expectStillAnswers(app);
});

/** How many requests the ingress has denied with this reason before knowing their trigger. */
async function decisionsFor(reason: string): Promise<number> {
  const metrics = (await app.inject("/metrics")).body;
  const match = new RegExp(
    `gatehouse_decisions_total\\{trigger="unknown",decision="DENY",reason="${reason}"\\} (\\d+)`,
  ).exec(metrics);
  return match ? Number(match[1]) : 0;
}

/** Also over the real socket, for the raw-byte cases. */
async function expectStillAnswersOverHttp() {
  const payload = JSON.stringify(body("PRE_M2M_TOKEN_CREATION"));
  const response = await fetch(`http://127.0.0.1:${port}/auth/interceptors${M2M}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...signedHeaders({ secret: SECRET, body: payload }) },
    body: payload,
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ decision: "ALLOW" });
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
}

/** GET /healthz through a keep-alive agent: the status and the local port of the connection it used. */
function getOverAgent(agent: Agent): Promise<{ status: number; localPort: number | undefined }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/healthz", agent }, (response) => {
      const localPort = response.socket.localPort;
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode ?? 0, localPort }));
    }).on("error", reject);
  });
}

const m2mBody = () => JSON.stringify(body("PRE_M2M_TOKEN_CREATION"));
const now = () => Math.floor(Date.now() / 1000);
const freshId = () => `msg_${Math.random().toString(36).slice(2)}`;

/** The three signature headers for a body, as strings, to take apart. */
function headersFor(
  payload: Buffer | string,
  options: { id?: string; timestamp?: number; secret?: string } = {},
) {
  const id = options.id ?? freshId();
  const timestamp = options.timestamp ?? now();
  return {
    id,
    timestamp,
    signature: sign({ secret: options.secret ?? SECRET, id, timestamp, body: payload }),
  };
}

/** Sends `payload` with exactly these signature header values (undefined: header absent). */
function withHeaders(
  payload: Buffer | string,
  values: { id?: string | string[]; timestamp?: string | string[]; signature?: string | string[] },
  route = M2M,
) {
  const headers: Record<string, string | string[]> = {};
  if (values.id !== undefined) headers["interceptor-id"] = values.id;
  if (values.timestamp !== undefined) headers["interceptor-timestamp"] = values.timestamp;
  if (values.signature !== undefined) headers["interceptor-signature"] = values.signature;
  return injectRaw(app, payload, { route, secret: false, headers });
}

describe("signature headers", () => {
  it("denies a request with any of the three headers missing or empty", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const full = { id: good.id, timestamp: String(good.timestamp), signature: good.signature };
    for (const name of ["id", "timestamp", "signature"] as const) {
      const { [name]: _dropped, ...rest } = full;
      expectDeny(await withHeaders(payload, rest));
      expectDeny(await withHeaders(payload, { ...full, [name]: "" }));
      expectDeny(await withHeaders(payload, { ...full, [name]: " " }));
    }
    expectDeny(await withHeaders(payload, {}));
    expectDeny(await injectRaw(app, payload, { secret: false }));
  });

  it("denies a wrong secret, a tampered body (one byte), and a signature for another id or timestamp", async () => {
    const payload = m2mBody();
    expectDeny(await injectRaw(app, payload, { secret: OTHER_SECRET }));

    for (const position of [0, 1, Math.floor(payload.length / 2), payload.length - 1]) {
      const good = headersFor(payload);
      const tampered = Buffer.from(payload);
      tampered[position] = (tampered[position] ?? 0) ^ 0x01;
      expectDeny(
        await withHeaders(tampered, {
          id: good.id,
          timestamp: String(good.timestamp),
          signature: good.signature,
        }),
      );
    }
    for (const changed of [`${payload}\n`, ` ${payload}`, payload.slice(0, -1), `${payload}}`]) {
      const good = headersFor(payload);
      expectDeny(
        await withHeaders(changed, {
          id: good.id,
          timestamp: String(good.timestamp),
          signature: good.signature,
        }),
      );
    }

    const forOtherId = headersFor(payload, { id: "msg_someone_else" });
    expectDeny(
      await withHeaders(payload, {
        id: freshId(),
        timestamp: String(forOtherId.timestamp),
        signature: forOtherId.signature,
      }),
    );
    const forOtherTimestamp = headersFor(payload, { timestamp: now() - 1 });
    expectDeny(
      await withHeaders(payload, {
        id: forOtherTimestamp.id,
        timestamp: String(now()),
        signature: forOtherTimestamp.signature,
      }),
    );
  });

  it("denies timestamps that are old, in the future, not numeric, or huge", async () => {
    const payload = m2mBody();
    // Correctly signed for their timestamp, but outside the 300 s window.
    for (const timestamp of [now() - 301, now() - 3_600, now() + 301, now() + 86_400, 0, 1, now() * 1000]) {
      expectDeny(await injectRaw(app, payload, { timestamp }));
    }
    // Not a timestamp at all: the signature was made for `now`, the header says something else.
    const good = headersFor(payload);
    const t = String(good.timestamp);
    for (const timestamp of [
      "abc",
      "-1",
      `-${t}`,
      `+${t}`,
      ` ${t}`,
      `${t} `,
      `${t}abc`,
      `${t}.0`,
      "1.7e9",
      "0x6553f100",
      "Infinity",
      "NaN",
      "99999999999999999999",
      "9".repeat(400),
      `${t},${t}`,
    ]) {
      expectDeny(await withHeaders(payload, { id: good.id, timestamp, signature: good.signature }));
    }
  });

  it("denies `v1,` followed by garbage, other versions and other spellings of the right bytes", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const bytes = good.signature.slice(3);
    for (const signature of [
      "v1",
      "v1,",
      "v1,,",
      "v1, ",
      "v1,====",
      `v1,${"!".repeat(44)}`,
      `v1,${"A".repeat(43)}=`,
      `v1,${"A".repeat(10_000)}`,
      `v1,${bytes.slice(0, -1)}`, // unpadded
      `v1,${bytes.replaceAll("+", "-").replaceAll("/", "_")}x`, // base64url plus junk
      `v1,${bytes}x`,
      `v1,x${bytes}`,
      `v1 ${bytes}`,
      `v2,${bytes}`,
      `V1,${bytes}`,
      ` v1;${bytes}`,
      bytes,
      "v1,\u0000\u0001\u0002",
      "\u00ff\u00fe",
    ]) {
      expectDeny(await withHeaders(payload, { id: good.id, timestamp: String(good.timestamp), signature }));
    }
  });

  it("answers 1,000 space-separated entries fast (only the first 32 are examined), with a DENY", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const junk = Array.from({ length: 1_000 }, (_, i) => `v1,${i.toString(36)}`).join(" ");
    const plausible = Array.from(
      { length: 1_000 },
      () => headersFor(payload, { secret: OTHER_SECRET }).signature,
    );
    for (const signature of [
      junk,
      plausible.join(" "),
      plausible.slice(0, 160).join(" "),
      `${junk} ${good.signature}`,
    ]) {
      // Best of three: a GC pause on a busy machine is not work done for the header.
      let fastest = Number.POSITIVE_INFINITY;
      for (let attempt = 0; attempt < 3; attempt++) {
        const sent = await withHeaders(payload, {
          id: good.id,
          timestamp: String(good.timestamp),
          signature,
        });
        expectDeny(sent);
        fastest = Math.min(fastest, sent.ms);
      }
      expect(fastest).toBeLessThan(50);
    }
  });

  it("denies a 60 KB signature header (through inject, where Node's header size limit does not apply)", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const signature = `v1,${"A".repeat(60 * 1024)} ${good.signature}`;
    const sent = await withHeaders(payload, { id: good.id, timestamp: String(good.timestamp), signature });
    expectDeny(sent);
    expect(sent.ms).toBeLessThan(50);
  });

  it("answers a replayed id, timestamp and signature with a changed body with a DENY", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const values = { id: good.id, timestamp: String(good.timestamp), signature: good.signature };
    const first = await withHeaders(payload, values);
    expect(JSON.parse(first.text)).toEqual({ decision: "ALLOW" });
    // The same request again is a repeat: exactly the first answer.
    expect(JSON.parse((await withHeaders(payload, values)).text)).toEqual({ decision: "ALLOW" });
    // The same headers with another body: the signature does not cover it, whatever was answered before.
    const changed = JSON.stringify({ ...body("PRE_M2M_TOKEN_CREATION"), display_name: "changed" });
    expectDeny(await withHeaders(changed, values));
    const signupBody = JSON.stringify(body("PRE_SIGNUP_NEW_USER", { user_email: "a@trashmail.test" }));
    expectDeny(await withHeaders(signupBody, values, SIGNUP));
  });

  it("reads a header sent several times (inject delivers arrays): one id or timestamp only, any signature copy", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const t = String(good.timestamp);
    expectDeny(
      await withHeaders(payload, { id: [good.id, good.id], timestamp: t, signature: good.signature }),
    );
    expectDeny(await withHeaders(payload, { id: good.id, timestamp: [t, t], signature: good.signature }));
    expectDeny(
      await withHeaders(payload, { id: good.id, timestamp: t, signature: ["v1,junk", "v1,more-junk"] }),
    );
    expectDeny(await withHeaders(payload, { id: good.id, timestamp: t, signature: [] }));
    // By design (Standard Webhooks): any entry of any copy may match, as in one space-separated header.
    const other = headersFor(payload);
    const both = await withHeaders(payload, {
      id: other.id,
      timestamp: String(other.timestamp),
      signature: ["v1,junk", other.signature],
    });
    expect(JSON.parse(both.text)).toEqual({ decision: "ALLOW" });
  });
});

describe("raw HTTP on a real socket", () => {
  afterEach(expectStillAnswersOverHttp);

  const lines = (values: { id: string; timestamp: number | string; signature: string }) => [
    `interceptor-id: ${values.id}`,
    `interceptor-timestamp: ${values.timestamp}`,
    `interceptor-signature: ${values.signature}`,
  ];

  it("a correctly signed request, as a control", async () => {
    const payload = m2mBody();
    const response = await rawHttp(
      port,
      rawPost(
        `/auth/interceptors${M2M}`,
        ["Content-Type: application/json", ...lines(headersFor(payload))],
        payload,
      ),
    );
    expect({ status: response.status, answer: JSON.parse(response.body) }).toEqual({
      status: 200,
      answer: { decision: "ALLOW" },
    });
  });

  it("denies two interceptor-id lines, two interceptor-timestamp lines, two bogus interceptor-signature lines", async () => {
    const payload = m2mBody();
    const path = `/auth/interceptors${M2M}`;
    const cases: string[][] = [];
    {
      const good = headersFor(payload);
      // Node joins a repeated unknown header with ", ": the id is then "<id>, <id>", which nobody signed.
      cases.push([`interceptor-id: ${good.id}`, ...lines(good)]);
    }
    {
      const good = headersFor(payload);
      cases.push([`interceptor-id: msg_other`, ...lines(good)]);
    }
    {
      const good = headersFor(payload);
      cases.push([`interceptor-timestamp: ${good.timestamp}`, ...lines(good)]);
    }
    {
      const good = headersFor(payload);
      const other = headersFor(payload, { id: good.id, secret: OTHER_SECRET });
      cases.push([
        ...lines({ ...good, signature: "v1,garbage" }),
        `interceptor-signature: ${other.signature}`,
      ]);
    }
    for (const headerLines of cases) {
      const response = await rawHttp(
        port,
        rawPost(path, ["Content-Type: application/json", ...headerLines], payload),
      );
      expect({ status: response.status, answer: JSON.parse(response.body) }).toEqual({
        status: 200,
        answer: UNVERIFIED,
      });
    }
  });

  it("answers two interceptor-signature lines, one of them valid, by policy (any entry may match, by design)", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const response = await rawHttp(
      port,
      rawPost(
        `/auth/interceptors${M2M}`,
        [...lines({ ...good, signature: "v1,garbage" }), `interceptor-signature: ${good.signature}`],
        payload,
      ),
    );
    expect({ status: response.status, answer: JSON.parse(response.body) }).toEqual({
      status: 200,
      answer: { decision: "ALLOW" },
    });
  });

  it("a 60 KB signature header is refused by Node's HTTP layer (16 KB header limit) with 431 and a DENY body; the server answers on", async () => {
    const payload = m2mBody();
    const good = headersFor(payload);
    const before = await decisionsFor("headers.too_large");
    const response = await rawHttp(
      port,
      rawPost(
        `/auth/interceptors${M2M}`,
        lines({ ...good, signature: `v1,${"A".repeat(60 * 1024)} ${good.signature}` }),
        payload,
      ),
    );
    // Refused by Node's parser before any route: the client-error handler still gives an interceptor answer.
    expect([response.status, response.headers.connection, JSON.parse(response.body)]).toEqual([
      431,
      "close",
      UNREADABLE,
    ]);
    expect(await decisionsFor("headers.too_large")).toBe(before + 1);
  });

  it("a request line or headers Node cannot parse get 400 and a DENY body from the HTTP layer, counted", async () => {
    const requests = [
      "GARBAGE\r\n\r\n",
      "POST /auth/interceptors/pre-signup HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
      "POST /auth/interceptors/pre-signup HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "POST /auth/interceptors/pre-signup HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "POST /auth/interceptors/pre-signup HTTP/1.1\r\nHost: x\r\ninterceptor-id: a\u0000b\r\n\r\n",
    ];
    const before = await decisionsFor("request.malformed");
    for (const bytes of requests) {
      const response = await rawHttp(port, Buffer.from(bytes, "latin1"));
      expect([response.status, JSON.parse(response.body)]).toEqual([400, UNREADABLE]);
    }
    expect(await decisionsFor("request.malformed")).toBe(before + requests.length);
  });

  it("verifies the raw bytes of a request without a content-type, and denies it unsigned", async () => {
    const payload = m2mBody();
    const path = `/auth/interceptors${M2M}`;
    const signed = await rawHttp(port, rawPost(path, lines(headersFor(payload)), payload));
    expect([signed.status, JSON.parse(signed.body)]).toEqual([200, { decision: "ALLOW" }]);
    const unsigned = await rawHttp(port, rawPost(path, [], payload));
    expect([unsigned.status, JSON.parse(unsigned.body)]).toEqual([200, UNVERIFIED]);
  });

  it("a request that does not arrive within 10 s (slowloris) gets 408 and a DENY, and its connection is closed; a silent connection is closed; a kept-alive one is not", async () => {
    const before = await decisionsFor("request.timeout");
    const payload = m2mBody();
    const request = rawPost(`/auth/interceptors${M2M}`, lines(headersFor(payload)), payload);
    const head = request.length - payload.length;
    const trickle = (start: Buffer, drip?: string) =>
      trickleHttp(port, start, { ...(drip && { drip, everyMs: 500 }), timeoutMs: 25_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const [body, headers, silent, keptAlive] = await Promise.all([
      // The headers, then the body a byte every half second: it never ends in time.
      trickle(request.subarray(0, head + 1), payload.slice(1)),
      // A request line and headers that never end.
      trickle(request.subarray(0, 40), "x-padding-header-name"),
      // A connection that sends nothing: closed without a word — an answer written to it could be taken for
      // the answer to a request a proxy sends on it at that moment.
      trickle(Buffer.alloc(0)),
      // Between requests a kept-alive connection is idle, not late: the second request, 12 s after the
      // first, goes over the same connection.
      (async () => {
        const first = await getOverAgent(agent);
        await sleep(12_000);
        return [first, await getOverAgent(agent)];
      })(),
    ]);
    agent.destroy();
    for (const trickled of [body, headers]) {
      const { status, body: answer } = trickled.response ?? { status: 0, body: "null" };
      expect([status, JSON.parse(answer)]).toEqual([408, UNREADABLE]);
    }
    expect(silent.response).toBeUndefined();
    for (const trickled of [body, headers, silent]) {
      // Node looks for late requests every second.
      expect(trickled.closedAfterMs).toBeGreaterThanOrEqual(9_900);
      expect(trickled.closedAfterMs).toBeLessThan(12_500);
    }
    expect(await decisionsFor("request.timeout")).toBe(before + 2);
    expect(keptAlive[1]).toEqual({ status: 200, localPort: keptAlive[0]!.localPort });
  }, 30_000);

  it("closes a kept-alive connection idle for GATEHOUSE_KEEP_ALIVE_MS", async () => {
    const short = await testIngress(testEnv(redisUrl, { GATEHOUSE_KEEP_ALIVE_MS: "1000" }), NO_WAIT_POLICY);
    try {
      await short.listen({ port: 0, host: "127.0.0.1" });
      const shortPort = (short.server.address() as { port: number }).port;
      const keptAlive = await trickleHttp(shortPort, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {
        timeoutMs: 5_000,
      });
      expect(keptAlive.response?.status).toBe(200);
      expect(keptAlive.closedAfterMs).toBeGreaterThanOrEqual(950);
      expect(keptAlive.closedAfterMs).toBeLessThan(2_500);
    } finally {
      await short.close();
    }
  });

  it("answers a body over the limit with 413 and a DENY: declared up front, or chunked", async () => {
    const path = `/auth/interceptors${SIGNUP}`;
    const big = JSON.stringify({ ...body("PRE_SIGNUP_NEW_USER"), padding: "x".repeat(70_000) });
    const declared = await rawHttp(port, rawPost(path, lines(headersFor(big)), big));
    expect([declared.status, JSON.parse(declared.body)]).toEqual([413, UNREADABLE]);
    const chunked = Buffer.from(
      [
        `POST ${path} HTTP/1.1`,
        "Host: 127.0.0.1",
        "Connection: close",
        "Transfer-Encoding: chunked",
        ...lines(headersFor(big)),
        "",
        `${(40_000).toString(16)}`,
        big.slice(0, 40_000),
        `${(big.length - 40_000).toString(16)}`,
        big.slice(40_000),
        "0",
        "",
        "",
      ].join("\r\n"),
    );
    const streamed = await rawHttp(port, chunked);
    expect([streamed.status, JSON.parse(streamed.body)]).toEqual([413, UNREADABLE]);
  });
});

describe("bodies", () => {
  it("denies a signed body that is not JSON, truncated, empty, or JSON but not an object", async () => {
    const full = m2mBody();
    for (const payload of [
      "",
      " ",
      "{not json",
      "null",
      "true",
      "42",
      '"PRE_M2M_TOKEN_CREATION"',
      "[]",
      `[${full}]`,
      full.slice(0, full.length / 2),
      full.slice(0, -1),
      `${full}${full}`,
      `\ufeff${full}`, // a byte order mark is not JSON whitespace
      "{'trigger_point': 'PRE_M2M_TOKEN_CREATION'}",
      '{"trigger_point": "PRE_M2M_TOKEN_CREATION",}',
    ]) {
      expectDeny(await injectRaw(app, payload), UNREADABLE);
    }
    expectDeny(await injectRaw(app, "{not json", { secret: false }));
  });

  it("denies wrong types for every top-level field", async () => {
    const wrong: Record<string, unknown[]> = {
      display_name: [42, true, [], {}, "x".repeat(4097)],
      trigger_point: [
        42,
        true,
        null,
        [],
        {},
        "",
        "pre_m2m_token_creation",
        "PRE_SIGNUP",
        "PRE_M2M_TOKEN_CREATION ",
      ],
      interceptor_context: [42, true, null, "x", []],
      data: [42, true, "x", []],
    };
    for (const [field, values] of Object.entries(wrong)) {
      for (const value of values) {
        const payload = JSON.stringify({ ...body("PRE_M2M_TOKEN_CREATION"), [field]: value });
        expectDeny(await injectRaw(app, payload), UNREADABLE);
      }
    }
  });

  it("denies wrong types for every interceptor_context field", async () => {
    const text = [42, true, [], {}, "x".repeat(4097)];
    const id = [42, true, [], {}, "", "x".repeat(257)];
    const wrong: Record<string, unknown[]> = {
      environment_id: id,
      user_id: id,
      user_email: [42, true, [], {}, "not-an-email"],
      organization_id: id,
      client_id: id,
      connection_details: ["x", 42, {}, [42], ["x"], [{ id: 42 }], [{ type: [] }], Array(65).fill({})],
      auth_request: ["x", 42, true, []],
      device_type: text,
      ip_address: [42, true, [], {}, "not-an-ip"],
      region: text,
      city: text,
      user_agent: text,
      triggered_at: text,
    };
    for (const [field, values] of Object.entries(wrong)) {
      for (const value of values) {
        // PRE_USER_INVITATION carries every context field the contract knows.
        const invitation = body("PRE_USER_INVITATION", { [field]: value });
        expectDeny(
          await injectRaw(app, JSON.stringify(invitation), { route: "/pre-user-invitation" }),
          UNREADABLE,
        );
      }
    }
    // The fields a trigger cannot do without: absent or null is missing.
    for (const [fixture, route, field] of [
      ["PRE_SIGNUP_NEW_USER", SIGNUP, "user_email"],
      ["PRE_SESSION_CREATION", "/pre-session-creation", "user_id"],
      ["PRE_USER_INVITATION", "/pre-user-invitation", "organization_id"],
      ["PRE_M2M_TOKEN_CREATION", M2M, "client_id"],
    ] as const) {
      const withNull = body(fixture, { [field]: null });
      expectDeny(await injectRaw(app, JSON.stringify(withNull), { route }), UNREADABLE);
      const without = body(fixture);
      delete (without.interceptor_context as Record<string, unknown>)[field];
      expectDeny(await injectRaw(app, JSON.stringify(without), { route }), UNREADABLE);
    }
  });

  it("denies wrong types in data", async () => {
    const withData = (data: unknown) => JSON.stringify({ ...body("PRE_SESSION_CREATION"), data });
    for (const data of [
      { user: "x" },
      { user: [] },
      { user: { id: 42 } },
      { user: { email: {} } },
      { user: { memberships: "x" } },
      { user: { memberships: [42] } },
      { user: { memberships: [{ organization_id: 42 }] } },
      { user: { memberships: [{ organization_id: "" }] } },
      { user: { memberships: [{ roles: "admin" }] } },
      { user: { memberships: [{ roles: [42] }] } },
      { user: { memberships: Array(1025).fill({}) } },
      { organization: "x" },
      { organization: { id: 42 } },
      { organization: { name: [] } },
      { m2m_token_claims: "x" },
      { m2m_token_claims: { client_id: 42 } },
      { m2m_token_claims: { claims: "x" } },
      { m2m_token_claims: { claims: { scope: 42 } } },
      { m2m_token_claims: { claims: { scopes: "a b" } } },
      { m2m_token_claims: { claims: { scopes: [42] } } },
      { m2m_token_claims: { claims: { oid: {} } } },
    ]) {
      expectDeny(await injectRaw(app, withData(data), { route: "/pre-session-creation" }), UNREADABLE);
    }
  });

  it("answers huge strings and many keys within the body limit: by policy where unknown, DENY where bounded", async () => {
    const m2m = () => body("PRE_M2M_TOKEN_CREATION");
    const allowed = [
      { ...m2m(), extra: "x".repeat(60_000) },
      { ...m2m(), extra: "🔐".repeat(15_000) },
      { ...m2m(), ...Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i])) },
      { ...m2m(), extra: Array.from({ length: 10_000 }, (_, i) => i) },
    ];
    const numbers = `${m2mBody().slice(0, -1)},"inf":1e999,"zero":-0,"big":123456789012345678901234567890}`;
    for (const value of [...allowed.map((object) => JSON.stringify(object)), numbers]) {
      const sent = await injectRaw(app, value);
      expect([sent.status, JSON.parse(sent.text)]).toEqual([200, { decision: "ALLOW" }]);
    }
    const denied = [
      body("PRE_M2M_TOKEN_CREATION", { user_agent: "x".repeat(60_000) }),
      body("PRE_M2M_TOKEN_CREATION", { client_id: "x".repeat(60_000) }),
      body("PRE_SIGNUP_NEW_USER", { user_email: `${"a".repeat(60_000)}@acme.test` }),
      body("PRE_M2M_TOKEN_CREATION", { connection_details: Array(3_000).fill({ id: "c" }) }),
    ];
    for (const value of denied) {
      const route = value.trigger_point === "PRE_SIGNUP" ? SIGNUP : M2M;
      expectDeny(await injectRaw(app, JSON.stringify(value), { route }), UNREADABLE);
    }
  });

  it("denies a body over the limit with 413 and a DENY body, signed or not", async () => {
    const big = JSON.stringify({ ...body("PRE_M2M_TOKEN_CREATION"), padding: "x".repeat(70_000) });
    for (const secret of [SECRET, false] as const) {
      const sent = await injectRaw(app, big, { secret });
      expect([sent.status, JSON.parse(sent.text)]).toEqual([413, UNREADABLE]);
    }
    const justOver = "x".repeat(64 * 1024 + 1);
    const sent = await injectRaw(app, justOver);
    expect([sent.status, JSON.parse(sent.text)]).toEqual([413, UNREADABLE]);
  });

  it("keeps prototype-pollution keys inert at every level", async () => {
    const pollute = (level: string) =>
      `"__proto__":{"polluted":"${level}"},"constructor":{"prototype":{"polluted":"${level}"}},"prototype":{"polluted":"${level}"}`;
    const context = JSON.stringify(
      body("PRE_SIGNUP_NEW_USER", { user_email: "ok@acme.test" }).interceptor_context,
    );
    const payload = `{${pollute("top")},"trigger_point":"PRE_SIGNUP","interceptor_context":{${pollute("context")},${context.slice(1)},"data":{${pollute("data")},"user":{${pollute("user")},"memberships":[{${pollute("membership")},"organization_id":"org_1"}]},"organization":{${pollute("org")}},"m2m_token_claims":{${pollute("m2m")},"claims":{${pollute("claims")}}}}}`;
    const sent = await injectRaw(app, payload, { route: SIGNUP });
    expect([sent.status, JSON.parse(sent.text)]).toEqual([200, { decision: "ALLOW" }]);

    // A required field offered only through __proto__ is missing; a disposable domain offered there is not read.
    const viaProto = `{"trigger_point":"PRE_SIGNUP","interceptor_context":{"__proto__":{"user_email":"x@acme.test"}}}`;
    expectDeny(await injectRaw(app, viaProto, { route: SIGNUP }), UNREADABLE);
    const shadowed = `{"trigger_point":"PRE_SIGNUP","interceptor_context":{"__proto__":{"user_email":"x@trashmail.test"},"user_email":"x@acme.test"}}`;
    const own = await injectRaw(app, shadowed, { route: SIGNUP });
    expect(JSON.parse(own.text)).toEqual({ decision: "ALLOW" });
    // The trigger itself cannot come from a prototype either.
    const triggerViaProto = `{"__proto__":{"trigger_point":"PRE_M2M_TOKEN_CREATION"},"interceptor_context":{"client_id":"c"}}`;
    expectDeny(await injectRaw(app, triggerViaProto), UNREADABLE);
    for (const scalar of ["null", "42", '"x"', "[]"]) {
      const odd = `{"__proto__":${scalar},"constructor":${scalar},${m2mBody().slice(1)}`;
      expect(JSON.parse((await injectRaw(app, odd)).text)).toEqual({ decision: "ALLOW" });
    }

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
    expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.create(null) as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("denies a signed body that is not valid UTF-8, wherever the bytes are (JSON text is UTF-8)", async () => {
    const [head, tail] = ['{"trigger_point":"PRE_M2M_TOKEN_CREATION","x":"', `",${m2mBody().slice(1)}`];
    const inString = (bytes: number[]) =>
      Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
    for (const payload of [
      inString([0xff]),
      inString([0xc3, 0x28]), // invalid continuation
      inString([0xc0, 0xaf]), // overlong "/"
      inString([0xed, 0xa0, 0x80]), // an encoded UTF-16 surrogate
      inString([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
      inString([0xe2, 0x82]), // truncated sequence
      inString([0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf]), // 6-byte form
      Buffer.from('{"trigger_point":"PRE_M2M_TOKEN_CREATION",\xff"x":1}', "latin1"),
      Buffer.concat([Buffer.from(m2mBody()), Buffer.from([0x80])]),
      // Latin-1 where UTF-8 is expected: "Zürich" as one byte per letter.
      Buffer.from(
        `{"trigger_point":"PRE_M2M_TOKEN_CREATION","city":"Z\xfcrich",${m2mBody().slice(1)}`,
        "latin1",
      ),
    ]) {
      expectDeny(await injectRaw(app, payload), UNREADABLE);
      expectDeny(await injectRaw(app, payload, { secret: false }));
    }
    const [before, after] = JSON.stringify(
      body("PRE_SIGNUP_NEW_USER", { user_email: "j<>@trashmail.test" }),
    ).split("<>");
    const email = Buffer.concat([Buffer.from(before!), Buffer.from([0xff]), Buffer.from(after!)]);
    expectDeny(await injectRaw(app, email, { route: SIGNUP }), UNREADABLE);

    // Valid multi-byte UTF-8 is not affected.
    const valid = JSON.stringify({ ...body("PRE_M2M_TOKEN_CREATION"), city: "Zürich", note: "🔐 ü € 中" });
    expect(JSON.parse((await injectRaw(app, Buffer.from(valid))).text)).toEqual({ decision: "ALLOW" });
  });

  it("denies JSON nested 100,000 levels deep without hurting the process", async () => {
    // A second ingress with room for the deep documents (the first keeps the default 64 KiB limit).
    const roomy = await testIngress(
      testEnv(redisUrl, { GATEHOUSE_BODY_LIMIT_BYTES: "1048576" }),
      NO_WAIT_POLICY,
    );
    try {
      const depth = 100_000;
      const deepObject = (leaf: string) => `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;
      const deepArray = `${"[".repeat(depth)}${"]".repeat(depth)}`;
      const envelope = (field: string, value: string) =>
        `{"trigger_point":"PRE_M2M_TOKEN_CREATION","interceptor_context":{"client_id":"c","environment_id":"e"${field === "context" ? `,"auth_request":${value}` : ""}},"data":{"x":1${field === "data" ? `,"deep":${value}` : ""}}}`;

      for (const payload of ["[".repeat(depth), deepArray, deepObject("1"), "{".repeat(depth)]) {
        expectDeny(await injectRaw(roomy, payload), UNREADABLE);
        expectDeny(await injectRaw(roomy, payload, { secret: false }));
      }
      // Nested inside a field the contract validates: refused at its first level.
      const inValidated = `{"trigger_point":"PRE_M2M_TOKEN_CREATION","interceptor_context":{"client_id":"c","connection_details":${deepArray}}}`;
      expectDeny(await injectRaw(roomy, inValidated), UNREADABLE);
      // Nested inside fields kept as they are (unknown or open objects): answered by policy, not walked.
      for (const payload of [envelope("data", deepObject("1")), envelope("context", deepObject("{}"))]) {
        const sent = await injectRaw(roomy, payload);
        expect([sent.status, JSON.parse(sent.text)]).toEqual([200, { decision: "ALLOW" }]);
      }
      await expectStillAnswers(roomy);
    } finally {
      await roomy.close();
    }
  });

  it("reads a duplicated key as JSON.parse does (the last one), for the route check and the policy alike", async () => {
    const both = `{"trigger_point":"PRE_SIGNUP","trigger_point":"PRE_M2M_TOKEN_CREATION",${m2mBody().slice(1)}`;
    expect(JSON.parse((await injectRaw(app, both)).text)).toEqual({ decision: "ALLOW" });
    const mismatch = `{"trigger_point":"PRE_M2M_TOKEN_CREATION",${JSON.stringify(body("PRE_SIGNUP_NEW_USER")).slice(1)}`;
    const onM2m = JSON.stringify(body("PRE_M2M_TOKEN_CREATION")).replace(
      /"trigger_point":"PRE_M2M_TOKEN_CREATION"/,
      '"trigger_point":"PRE_M2M_TOKEN_CREATION","trigger_point":"PRE_SIGNUP"',
    );
    expectDeny(await injectRaw(app, onM2m), UNREADABLE);
    expectAnswer(await injectRaw(app, mismatch, { route: SIGNUP }));
  });
});

describe("email addresses and IP addresses", () => {
  const signup = (context: Record<string, unknown>) =>
    injectRaw(app, JSON.stringify(body("PRE_SIGNUP_NEW_USER", context)), { route: SIGNUP });

  it("denies malformed addresses, very long ones and ones with control characters, as invalid bodies", async () => {
    for (const email of [
      "",
      "plainaddress",
      "@acme.test",
      "a@",
      "a@acme",
      "a@@acme.test",
      "a@b@acme.test",
      "a b@acme.test",
      "a@acme .test",
      "a@.acme.test",
      "a@acme..test",
      "a@acme.test..",
      " a@acme.test",
      "a@acme.test ",
      "a\u0000@acme.test",
      "a@acme.test\u0000",
      "a\n@acme.test",
      "a@acme.test\r\n",
      "a\t@acme.test",
      "a\u0007@acme.test",
      "a\u007f@acme.test",
      "a\u0085@acme.test", // C1 control
      "a@acme\u2028.test", // line separator (whitespace)
      `${"a".repeat(65)}@acme.test`,
      `a@${"b".repeat(250)}.test`,
      `${"a".repeat(64)}@${`${"b".repeat(60)}.`.repeat(5)}test`, // over 320 characters
    ]) {
      expectDeny(await signup({ user_email: email }), UNREADABLE);
    }
  });

  it("answers an IDN address by policy, not with a validation DENY", async () => {
    // bücher.de is recorded as disposable (as xn--bcher-kva.de): the policy denies it, with its message.
    for (const email of [
      "jürgen@bücher.de",
      "JÜRGEN@BÜCHER.DE",
      "jürgen@xn--bcher-kva.de",
      "jürgen@bücher.de.",
    ]) {
      const sent = await signup({ user_email: email });
      const answer = expectAnswer(sent);
      expect(answer.decision, email).toBe("DENY");
      expect(answer.error?.message).toMatch(DISPOSABLE_MESSAGE);
    }
    for (const email of [
      "jürgen@bücher.example",
      "δοκιμή@παράδειγμα.δοκιμή",
      "用户@例子.广告",
      "a@acme.test",
    ]) {
      expect(JSON.parse((await signup({ user_email: email })).text), email).toEqual({ decision: "ALLOW" });
    }
    const longestLocal = `${"a".repeat(64)}@acme.test`;
    expect(JSON.parse((await signup({ user_email: longestLocal })).text)).toEqual({ decision: "ALLOW" });
  });

  it("answers domains the contract accepts but the email-domain enrichment cannot normalize with a valid answer (no fact is read for them)", async () => {
    // A known gap, left for a decision (issue 5 report): the contract's address check is looser than the
    // email-domain enrichment's normalization, so these get no email-domain fact and the policy decides
    // without one: with the default policy `a@mailinator.com:25` or `a@mailinator.com/x` is not caught by
    // the disposable rule. Asserted here only to be a valid 200 answer, so that either fix keeps it green.
    for (const email of [
      "a@-acme-.test",
      "a@acme_corp.test",
      "a@acme.test/x.example",
      "a@1.2.3.4",
      "a@acme.test:25",
    ]) {
      expectAnswer(await signup({ user_email: email }));
    }
  });

  it("denies malformed IP addresses as invalid bodies", async () => {
    for (const ip of [
      "",
      "999.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "0x7f.0.0.1",
      "2130706433",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1.2.3.4\u0000",
      "1.2.3.4/32",
      "1.2.3.4:80",
      "[::1]",
      "fe80::1%eth0",
      "::ffff:999.1.1.1",
      "1:2:3:4:5:6:7:8:9",
      "2001:db8::g",
      "2001:db8:::1",
      "localhost",
      "1".repeat(10_000),
    ]) {
      expectDeny(await signup({ user_email: "a@acme.test", ip_address: ip }), UNREADABLE);
    }
  });

  it("answers IPv6 by policy, and an IPv4-mapped IPv6 address as the IPv4 address it maps", async () => {
    for (const ip of ["2001:db8::1", "::1", "2001:DB8:0:0:0:0:0:1", "203.0.113.10", "::ffff:203.0.113.10"]) {
      expect(JSON.parse((await signup({ user_email: "a@acme.test", ip_address: ip })).text), ip).toEqual({
        decision: "ALLOW",
      });
    }
    // 203.0.113.9 is on a blocklist: every spelling of it is denied.
    for (const ip of [
      "203.0.113.9",
      "::ffff:203.0.113.9",
      "::FFFF:203.0.113.9",
      "::ffff:cb00:7109",
      "0:0:0:0:0:ffff:203.0.113.9",
    ]) {
      const answer = expectAnswer(await signup({ user_email: "a@acme.test", ip_address: ip }));
      expect(answer.decision, ip).toBe("DENY");
      expect(answer.error?.message).toMatch(NETWORK_MESSAGE);
    }
  });
});

describe("content types", () => {
  const types = [
    undefined,
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin1",
    "application/json; charset=utf-16",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
    "image/png",
    "TEXT/PLAIN; CHARSET=UTF-8",
  ];

  it("verifies the raw bytes whatever the content type: signed → policy, unsigned or tampered → DENY", async () => {
    for (const contentType of types) {
      const payload = JSON.stringify({ ...body("PRE_M2M_TOKEN_CREATION"), city: "Zürich" });
      const signed = await injectRaw(app, payload, { contentType });
      expect([signed.status, JSON.parse(signed.text)], String(contentType)).toEqual([
        200,
        { decision: "ALLOW" },
      ]);
      expectDeny(await injectRaw(app, payload, { contentType, secret: false }));
      const good = headersFor(payload);
      const tampered = payload.replace("Zürich", "Zurich");
      const sent = await injectRaw(app, tampered, {
        contentType,
        secret: false,
        headers: {
          "interceptor-id": good.id,
          "interceptor-timestamp": String(good.timestamp),
          "interceptor-signature": good.signature,
        },
      });
      expectDeny(sent);
      // A disposable signup is denied by policy under any content type.
      const disposable = JSON.stringify(body("PRE_SIGNUP_NEW_USER", { user_email: "a@trashmail.test" }));
      const denied = expectAnswer(await injectRaw(app, disposable, { contentType, route: SIGNUP }));
      expect(denied.error?.message).toMatch(DISPOSABLE_MESSAGE);
    }
  });

  it("denies a content-type header without a parseable type/subtype (Fastify refuses it before the route)", async () => {
    // Fastify reads the media type strictly and its parameters leniently: `application/json; =` is taken.
    for (const contentType of [
      "",
      " ",
      "@@@",
      ";;;",
      "/",
      "application/",
      "json",
      "application/json,text/plain",
    ]) {
      expectDeny(await injectRaw(app, m2mBody(), { contentType }), UNREADABLE);
      expectDeny(await injectRaw(app, m2mBody(), { contentType, secret: false }), UNREADABLE);
    }
  });
});

describe("methods and paths", () => {
  it("answers other methods and unknown paths with 404, without crashing", async () => {
    const payload = m2mBody();
    for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] as const) {
      for (const route of [M2M, SIGNUP, ""]) {
        const sent = await injectRaw(app, method === "GET" || method === "HEAD" ? "" : payload, {
          method,
          route,
        });
        expect(sent.status, `${method} ${route}`).toBe(404);
        expect(sent.text).not.toContain("ALLOW");
      }
    }
    for (const route of [
      "/nope",
      "/pre-signup/",
      "/PRE-SIGNUP",
      "/pre_signup",
      "/../healthz",
      "/%2e%2e/healthz",
      "//pre-signup",
    ]) {
      const sent = await injectRaw(app, payload, { route });
      expect(sent.status, route).toBe(404);
      expect(sent.text).not.toContain("ALLOW");
    }
    const post = await app.inject({ method: "POST", url: "/healthz", payload });
    expect(post.statusCode).toBe(404);
    // A query string does not change the route: still verified and answered.
    expect(
      JSON.parse((await injectRaw(app, payload, { route: `${M2M}?x=${"y".repeat(10_000)}` })).text),
    ).toEqual({
      decision: "ALLOW",
    });
    expectDeny(await injectRaw(app, payload, { route: `${M2M}?x=1`, secret: false }));
  });
});

describe("log lines under a flood", () => {
  it("writes one warning per reason a second for forged and broken requests, saying how many it stands for", async () => {
    const lines: { msg: string; reason?: string; suppressed?: number }[] = [];
    const log = createLogger({
      name: "ingress",
      level: "info",
      destination: { write: (line: string) => lines.push(JSON.parse(line)) },
    });
    const flooded = await buildApp({
      env: testEnv(redisUrl, { LOG_LEVEL: "info" }),
      log,
      policy: NO_WAIT_POLICY,
    });
    try {
      const payload = m2mBody();
      for (let i = 0; i < 50; i++)
        expectDeny(await injectRaw(flooded, payload, { route: M2M, secret: OTHER_SECRET }));
      for (let i = 0; i < 50; i++) expectDeny(await injectRaw(flooded, "{", { route: M2M }), UNREADABLE);
      const denied = lines.filter((line) => line.msg === "request denied before policy");
      expect(denied.map((line) => line.reason)).toEqual([
        "signature.no_matching_signature",
        "body.invalid_json",
      ]);
      // A second later, the next forged request's line says how many went unwritten.
      await new Promise((resolve) => setTimeout(resolve, 1_050));
      expectDeny(await injectRaw(flooded, payload, { route: M2M, secret: OTHER_SECRET }));
      expect(lines.filter((line) => line.msg === "request denied before policy").at(-1)).toMatchObject({
        reason: "signature.no_matching_signature",
        suppressed: 49,
      });
    } finally {
      await flooded.close();
    }
  });
});
