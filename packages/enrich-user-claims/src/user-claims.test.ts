import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { interceptorRequestSchema, requestFixture } from "@gatehouse/contracts";
import { EnrichmentError, RateLimitedError } from "@gatehouse/enrichment-sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type UserClaimsInput, userClaims } from "./user-claims.js";

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** The team's claims service, on loopback: answers with whatever `respond` says for each request. */
let server: Server;
let url: string;
let received: Received[] = [];
let respond: (res: ServerResponse) => void = (res) => res.end();
beforeAll(async () => {
  server = createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    received.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: JSON.parse(raw),
    });
    respond(res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/claims`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received = [];
});

const json = (status: number, body: unknown) => (res: ServerResponse) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

const live = () => ({ signal: new AbortController().signal });
const input: UserClaimsInput = { userId: "usr_1", organizationId: "org_1", email: "a@acme.test" };

async function handler(settings: Record<string, string> = { GATEHOUSE_CLAIMS_URL: url }) {
  return userClaims.setup(userClaims.settings.parse(settings));
}

async function failure(promise: Promise<unknown>): Promise<EnrichmentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnrichmentError);
  return error as EnrichmentError;
}

describe("userClaims.run", () => {
  it("POSTs the user to the claims service and returns its claims as the fact", async () => {
    respond = json(200, { claims: { plan: "pro", seats: 5, flags: ["beta"] } });
    const run = (await handler()).run;
    expect(await run(input, live())).toEqual({ claims: { plan: "pro", seats: 5, flags: ["beta"] } });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      method: "POST",
      url: "/claims",
      headers: { "content-type": "application/json" },
      body: { user_id: "usr_1", organization_id: "org_1", email: "a@acme.test" },
    });
    expect(received[0]?.headers.authorization).toBeUndefined();
  });

  it("sends null for a missing organization and email", async () => {
    respond = json(200, { claims: {} });
    await (await handler()).run({ userId: "usr_2" }, live());
    expect(received[0]?.body).toEqual({ user_id: "usr_2", organization_id: null, email: null });
  });

  it("keeps extra fields out of the fact", async () => {
    respond = json(200, { claims: { a: 1 }, debug: "ignored" });
    expect(await (await handler()).run(input, live())).toEqual({ claims: { a: 1 } });
  });

  it("sends the bearer token when one is set", async () => {
    respond = json(200, { claims: {} });
    await (await handler({ GATEHOUSE_CLAIMS_URL: url, GATEHOUSE_CLAIMS_TOKEN: "s3cret" })).run(input, live());
    expect(received[0]?.headers.authorization).toBe("Bearer s3cret");
  });

  it("treats 404 as a user with no claims", async () => {
    respond = json(404, { error: "no such user" });
    expect(await (await handler()).run(input, live())).toEqual({ claims: {} });
  });

  it.each([500, 502, 503, 401])("throws a retryable EnrichmentError on HTTP %i", async (status) => {
    respond = json(status, { claims: { never: "cached" } });
    const error = await failure((await handler()).run(input, live()));
    expect(error).toMatchObject({
      code: "claims.http_status",
      retryable: true,
      message: `claims service answered ${status}`,
      context: { status },
    });
  });

  it.each([
    [429, { "retry-after": "7" }, 7_000],
    [429, {}, 1_000],
    [503, { "retry-after": "2" }, 2_000],
  ] as const)(
    "asks for a pause on HTTP %i %j: RateLimitedError of %i ms",
    async (status, headers, pauseMs) => {
      respond = (res) => {
        res.writeHead(status, headers);
        res.end();
      };
      const error = await failure((await handler()).run(input, live()));
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({ code: "claims.rate_limited", retryable: true, retryAfterMs: pauseMs });
    },
  );

  it.each([
    ["not JSON", "<html>oops</html>"],
    ["no claims field", { plan: "pro" }],
    ["claims not an object", { claims: ["plan"] }],
    ["claims null", { claims: null }],
    ["a JSON array", [1, 2]],
  ])("throws a retryable EnrichmentError for a body that is %s", async (_, body) => {
    respond = json(200, body);
    const error = await failure((await handler()).run(input, live()));
    expect(error).toMatchObject({ code: "claims.bad_body", retryable: true });
  });

  it("returns no claims without a request when no URL is configured", async () => {
    expect(await (await handler({})).run(input, live())).toEqual({ claims: {} });
    expect(received).toEqual([]);
  });

  it("stops waiting when the signal aborts", async () => {
    respond = () => {}; // never answers
    const controller = new AbortController();
    const started = performance.now();
    const running = (await handler()).run(input, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("job timed out")), 30);
    await expect(running).rejects.toThrow("job timed out");
    expect(performance.now() - started).toBeLessThan(1_000);
    server.closeAllConnections();
  });

  it("caps the calls a second when GATEHOUSE_CLAIMS_MAX_PER_SECOND is set, and not otherwise", async () => {
    expect(
      (await handler({ GATEHOUSE_CLAIMS_URL: url, GATEHOUSE_CLAIMS_MAX_PER_SECOND: "50" })).rateLimit,
    ).toEqual({
      max: 50,
      perMs: 1_000,
    });
    expect((await handler()).rateLimit).toBeUndefined();
    expect(userClaims.settings.safeParse({ GATEHOUSE_CLAIMS_MAX_PER_SECOND: "0" }).success).toBe(false);
    expect(userClaims.settings.safeParse({ GATEHOUSE_CLAIMS_MAX_PER_SECOND: "lots" }).success).toBe(false);
  });

  it("rejects an invalid URL or an empty token in its settings", () => {
    expect(userClaims.settings.safeParse({ GATEHOUSE_CLAIMS_URL: "not a url" }).success).toBe(false);
    expect(
      userClaims.settings.safeParse({ GATEHOUSE_CLAIMS_URL: url, GATEHOUSE_CLAIMS_TOKEN: "" }).success,
    ).toBe(false);
    expect(userClaims.settings.parse({ PATH: "/bin" })).toEqual({});
  });
});

describe("userClaims.fromRequest and subject", () => {
  const parse = (body: Record<string, unknown>) => interceptorRequestSchema.parse(body);

  it("takes the user, organization and email of a session creation", () => {
    const request = parse(requestFixture("PRE_SESSION_CREATION"));
    expect(userClaims.fromRequest(request)).toEqual({
      userId: "usr_93418238346728951",
      organizationId: "org_93418204671239864",
      email: "john.doe@acmecorp.com",
    });
  });

  it("leaves out what the request does not carry, and is undefined without a user id", () => {
    const body = requestFixture("PRE_SESSION_CREATION") as { interceptor_context: Record<string, unknown> };
    delete body.interceptor_context.organization_id;
    delete body.interceptor_context.user_email;
    const input = userClaims.fromRequest(parse(body));
    expect(input).toMatchObject({ userId: "usr_93418238346728951" });
    expect(input?.organizationId).toBeUndefined();
    expect(input?.email).toBeUndefined();
    expect(userClaims.input.safeParse(input).success).toBe(true);

    const m2m = parse(requestFixture("PRE_M2M_TOKEN_CREATION"));
    expect(m2m.interceptor_context.user_id).toBeUndefined();
    expect(userClaims.fromRequest(m2m)).toBeUndefined();
  });

  it("keys the fact by organization and user, with '-' for no organization", () => {
    expect(userClaims.subject({ userId: "usr_1", organizationId: "org_1" })).toBe("org_1:usr_1");
    expect(userClaims.subject({ userId: "usr_1" })).toBe("-:usr_1");
    // The email does not split the cache.
    expect(userClaims.subject({ userId: "usr_1", organizationId: "org_1", email: "x@y.test" })).toBe(
      "org_1:usr_1",
    );
  });

  it("declares a five-minute TTL, a name and a version", () => {
    expect(userClaims).toMatchObject({ name: "user-claims", version: 1, ttlSeconds: 300 });
  });
});
