// Issue 5, property-based: the verifier, the body parser and the whole handler against arbitrary input.
// Bounded (a few hundred runs per property); a failure prints fast-check's seed and shrunk counterexample.
import {
  interceptorAnswerSchema,
  interceptorRequestSchema,
  parseInterceptorRequest,
  REQUEST_FIXTURES,
  type RequestFixtureName,
  ROUTE_TRIGGERS,
  requestFixture,
  TRIGGER_POINTS,
} from "@gatehouse/contracts";
import { createVerifier, generateSecret, type SignatureHeaderValues, sign } from "@gatehouse/signature";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { expectStillAnswers, NO_WAIT_POLICY, UNREADABLE, UNVERIFIED } from "./support/hostile-harness.js";
import { SECRET, testEnv, testIngress } from "./support/ingress-harness.js";

const NOW_MS = Date.UTC(2025, 5, 15, 10, 0, 0);
const NOW = NOW_MS / 1000;
const TOLERANCE = 300;
const FUZZ_SECRET = generateSecret();
const OTHER_SECRET = generateSecret();
const verifier = createVerifier({ secrets: [FUZZ_SECRET], toleranceSeconds: TOLERANCE, now: () => NOW_MS });

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

/** Characters a real HTTP header value can carry (Node decodes them as latin1): tab, visible ASCII, 0x80-0xff. */
const headerChar = fc
  .oneof(fc.constant(9), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
  .map((code) => String.fromCharCode(code));
const headerText = (maxLength = 80) => fc.string({ unit: headerChar, maxLength });
const base64Char = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_");
/** Entries that look like signatures: `v1,` and 43 base64 characters and `=`, or near misses. */
const plausibleEntry = fc.oneof(
  fc.string({ unit: base64Char, minLength: 43, maxLength: 43 }).map((s) => `v1,${s}=`),
  fc.string({ unit: base64Char, maxLength: 50 }).map((s) => `v1,${s}`),
  fc.string({ unit: base64Char, maxLength: 50 }).map((s) => `v2,${s}`),
  headerText(60),
);
/** Any value a header can arrive as, and some it cannot (non-strings) to be sure. */
const anyHeaderValue = fc.oneof(
  fc.constant(undefined),
  headerText(),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: NOW - 2 * TOLERANCE, max: NOW + 2 * TOLERANCE }).map(String),
  fc.array(plausibleEntry, { maxLength: 40 }).map((entries) => entries.join(" ")),
  fc.array(headerText(20), { maxLength: 4 }),
  fc.anything({ maxDepth: 1 }),
);
const anyBody = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);
/** Ids as they arrive in a header: non-empty strings of header characters (never lone surrogates). */
const idArb = fc.oneof(
  fc.string({ unit: headerChar, minLength: 1, maxLength: 40 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
);

interface Tuple {
  id: string;
  timestamp: number;
  body: Buffer;
}
const tupleArb: fc.Arbitrary<Tuple> = fc.record({
  id: idArb,
  timestamp: fc.integer({ min: NOW - TOLERANCE, max: NOW + TOLERANCE }),
  body: fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
});
const signTuple = (tuple: Tuple, secret = FUZZ_SECRET) =>
  sign({ secret, id: tuple.id, timestamp: tuple.timestamp, body: tuple.body });

/** The single value of a header that must appear once, as the verifier reads it. */
function single(value: unknown): string | undefined {
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (Array.isArray(value) && value.length === 1) return single(value[0]);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------

describe("the verifier", () => {
  it("never throws, and never says ok unless the header carries the signature made with the secret for exactly that id, timestamp and body", () => {
    // Arbitrary headers, sometimes with a real signature (for these or other values) slipped in among junk.
    const requestArb = fc
      .record({
        id: anyHeaderValue,
        timestamp: anyHeaderValue,
        signature: anyHeaderValue,
        body: anyBody,
        slipIn: fc.option(
          fc.record({
            tuple: tupleArb,
            position: fc.nat(5),
            sameRequest: fc.boolean(),
            secret: fc.boolean(),
          }),
        ),
      })
      .map(({ id, timestamp, signature, body, slipIn }) => {
        const headers = { id, timestamp, signature } as SignatureHeaderValues;
        if (slipIn) {
          const { tuple, position, sameRequest } = slipIn;
          const real = signTuple(tuple, slipIn.secret ? FUZZ_SECRET : OTHER_SECRET);
          const entries = typeof signature === "string" ? signature.split(" ") : [];
          entries.splice(Math.min(position, entries.length), 0, real);
          headers.signature = entries.join(" ");
          if (sameRequest) {
            headers.id = tuple.id;
            headers.timestamp = String(tuple.timestamp);
            return { headers, body: tuple.body as Buffer | string };
          }
        }
        return { headers, body };
      });

    let oks = 0;
    fc.assert(
      fc.property(requestArb, ({ headers, body }) => {
        const result = verifier.verify(headers, body);
        expect(typeof result.ok).toBe("boolean");
        if (!result.ok) return;
        oks++;
        expect(result.id).toBe(single(headers.id));
        expect(String(result.timestamp)).toBe(single(headers.timestamp)?.replace(/^0+(?=\d)/, ""));
        expect(Math.abs(result.timestamp - NOW)).toBeLessThanOrEqual(TOLERANCE);
        const expected = sign({ secret: FUZZ_SECRET, id: result.id, timestamp: result.timestamp, body });
        const entries = [headers.signature]
          .flat()
          .join(" ")
          .split(" ")
          .map((entry) => entry.split(",").slice(0, 2).join(","));
        expect(entries).toContain(expected);
      }),
      { numRuns: 500 },
    );
    // The slipped-in real signatures make some runs valid: the property is not vacuous.
    expect(oks).toBeGreaterThan(0);
  });

  type Mutation =
    | { kind: "none" }
    | { kind: "id-as-one-element-array" }
    | { kind: "id"; id: string }
    | { kind: "timestamp"; delta: number }
    | { kind: "signature"; index: number; char: string }
    | { kind: "signature-truncate"; keep: number }
    | { kind: "signature-append"; char: string }
    | { kind: "body-flip"; index: number; bit: number }
    | { kind: "body-append"; byte: number }
    | { kind: "body-truncate" }
    | { kind: "secret" };
  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.constant({ kind: "id-as-one-element-array" as const }),
    idArb.map((id) => ({ kind: "id" as const, id })),
    fc
      .integer({ min: -2 * TOLERANCE, max: 2 * TOLERANCE })
      .filter((delta) => delta !== 0)
      .map((delta) => ({ kind: "timestamp" as const, delta })),
    fc.record({ kind: fc.constant("signature" as const), index: fc.nat(46), char: base64Char }),
    fc.record({ kind: fc.constant("signature-truncate" as const), keep: fc.nat(46) }),
    fc.record({
      kind: fc.constant("signature-append" as const),
      char: fc.oneof(base64Char, fc.constantFrom("x", ".", ";", "\t")),
    }),
    fc.record({ kind: fc.constant("body-flip" as const), index: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant("body-append" as const), byte: fc.nat(255) }),
    fc.constant({ kind: "body-truncate" as const }),
    fc.constant({ kind: "secret" as const }),
  );

  /** Applies a mutation; `changed` is false when the result is the same request (or the mutation was a no-op). */
  function mutate(tuple: Tuple, mutation: Mutation) {
    let id: string | string[] = tuple.id;
    let timestamp = tuple.timestamp;
    let signature = signTuple(tuple);
    let body = tuple.body;
    switch (mutation.kind) {
      case "none":
        break;
      case "id-as-one-element-array":
        id = [tuple.id];
        break;
      case "id":
        id = mutation.id;
        break;
      case "timestamp":
        timestamp += mutation.delta;
        break;
      case "signature": {
        const chars = [...signature];
        chars[mutation.index] = mutation.char;
        signature = chars.join("");
        break;
      }
      case "signature-truncate":
        signature = signature.slice(0, mutation.keep);
        break;
      case "signature-append":
        signature += mutation.char;
        break;
      case "body-flip":
        if (body.length > 0) {
          body = Buffer.from(body);
          const index = mutation.index % body.length;
          body[index] = (body[index] ?? 0) ^ (1 << mutation.bit);
        }
        break;
      case "body-append":
        body = Buffer.concat([body, Buffer.from([mutation.byte])]);
        break;
      case "body-truncate":
        body = body.subarray(0, Math.max(0, body.length - 1));
        break;
      case "secret":
        signature = signTuple(tuple, OTHER_SECRET);
        break;
    }
    const changed =
      (typeof id === "string" && id !== tuple.id) ||
      timestamp !== tuple.timestamp ||
      signature !== signTuple(tuple) ||
      !body.equals(tuple.body);
    return { headers: { id, timestamp: String(timestamp), signature }, body, changed };
  }

  it("says ok for a mutated (id, timestamp, signature, body) exactly when nothing changed", () => {
    const seen = { changed: 0, unchanged: 0 };
    fc.assert(
      fc.property(tupleArb, mutationArb, (tuple, mutation) => {
        const { headers, body, changed } = mutate(tuple, mutation);
        seen[changed ? "changed" : "unchanged"]++;
        expect(verifier.verify(headers, body).ok).toBe(!changed);
      }),
      { numRuns: 500 },
    );
    expect(seen.changed).toBeGreaterThan(0);
    expect(seen.unchanged).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value in a JSON document (the root is []). */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const all = [prefix];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) all.push(...paths(item, [...prefix, index]));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) all.push(...paths(item, [...prefix, key]));
  }
  return all;
}

type FixtureMutation =
  | { kind: "replace"; value: Json }
  | { kind: "delete" }
  | { kind: "add"; key: string; value: Json }
  | { kind: "wrap" }
  | { kind: "stringify" };

const keyArb = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "trigger_point", "user_email", "ip_address", ""),
  fc.string({ maxLength: 12 }),
);
const fixtureMutationArb: fc.Arbitrary<FixtureMutation> = fc.oneof(
  fc.record({
    kind: fc.constant("replace" as const),
    value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  }),
  fc.constant({ kind: "delete" as const }),
  fc.record({
    kind: fc.constant("add" as const),
    key: keyArb,
    value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  }),
  fc.constant({ kind: "wrap" as const }),
  fc.constant({ kind: "stringify" as const }),
);

/** A documented body with a few random changes at random places (own `__proto__` keys included). */
const mutatedFixtureArb = fc
  .record({
    name: fc.constantFrom(...REQUEST_FIXTURES),
    changes: fc.array(fc.record({ at: fc.nat(), mutation: fixtureMutationArb }), {
      minLength: 1,
      maxLength: 4,
    }),
  })
  .map(({ name, changes }) => {
    let document = requestFixture(name) as Json;
    for (const { at, mutation } of changes) document = applyMutation(document, at, mutation);
    return { name, document };
  });

function applyMutation(document: Json, at: number, mutation: FixtureMutation): Json {
  const all = paths(document);
  const path = all[at % all.length]!;
  const current = path.reduce<Json>((node, key) => (node as Record<string, Json>)[key] as Json, document);
  const replacement = (): Json | undefined => {
    switch (mutation.kind) {
      case "replace":
        return mutation.value;
      case "delete":
        return undefined;
      case "wrap":
        return [current];
      case "stringify":
        return JSON.stringify(current);
      case "add": {
        if (current === null || typeof current !== "object" || Array.isArray(current)) return current;
        const copy = { ...current };
        // An own property even for "__proto__", as JSON.parse makes it.
        Object.defineProperty(copy, mutation.key, {
          value: mutation.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return copy;
      }
    }
  };
  const value = replacement();
  if (path.length === 0) return value === undefined ? null : value;
  const parent = path
    .slice(0, -1)
    .reduce<Json>((node, key) => (node as Record<string, Json>)[key] as Json, document) as Record<
    string,
    Json
  >;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return document;
}

/** The parser's contract: a value, never an exception; an ok request is a known trigger and parses again. */
function checkParse(body: unknown) {
  const result = parseInterceptorRequest(body);
  if (result.ok) {
    expect(TRIGGER_POINTS).toContain(result.request.trigger_point);
    expect(interceptorRequestSchema.safeParse(result.request).success).toBe(true);
  } else {
    expect(["body.not_object", "body.unknown_trigger", "body.invalid"]).toContain(result.reason);
  }
  return result;
}

describe("the body parser", () => {
  it("never throws for arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        checkParse(value);
      }),
      { numRuns: 400 },
    );
  });

  it("never throws for arbitrary values, as they are and after a JSON round trip", () => {
    const anything = fc.anything({
      maxDepth: 4,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
    });
    fc.assert(
      fc.property(anything, (value) => {
        checkParse(value);
        const text = JSON.stringify(value);
        if (text !== undefined) checkParse(JSON.parse(text));
      }),
      { numRuns: 400 },
    );
  });

  it("never throws for mutated documented bodies (and accepts them unmutated)", () => {
    for (const name of REQUEST_FIXTURES) expect(checkParse(requestFixture(name)).ok, name).toBe(true);
    fc.assert(
      fc.property(mutatedFixtureArb, ({ document }) => {
        checkParse(document);
        checkParse(JSON.parse(JSON.stringify(document)));
        // Nothing leaks onto shared prototypes whatever the keys.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("the handler, end to end", () => {
  const BODY_LIMIT = 4096;
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testIngress(
      testEnv(inject("redisUrl"), { GATEHOUSE_BODY_LIMIT_BYTES: String(BODY_LIMIT) }),
      NO_WAIT_POLICY,
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  const routes = [...Object.keys(ROUTE_TRIGGERS).map((slug) => `/${slug}`), ""];
  const contentTypeArb = fc.option(
    fc.oneof(
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/json; charset=latin1",
      ),
      headerText(30),
    ),
    { nil: undefined },
  );
  const fixtureFor = (route: string): RequestFixtureName => {
    const trigger = ROUTE_TRIGGERS[route.slice(1) as keyof typeof ROUTE_TRIGGERS];
    return trigger === "PRE_SIGNUP" ? "PRE_SIGNUP_NEW_USER" : (trigger ?? "POST_USER_AUTHENTICATION");
  };
  const bodyArb = (route: string): fc.Arbitrary<Buffer> =>
    fc
      .oneof(
        { weight: 3, arbitrary: fc.constant(JSON.stringify(requestFixture(fixtureFor(route)))) },
        { weight: 4, arbitrary: mutatedFixtureArb.map(({ document }) => JSON.stringify(document)) },
        { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
        { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 500 }) },
        { weight: 2, arbitrary: fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes)) },
        {
          weight: 1,
          arbitrary: fc.integer({ min: BODY_LIMIT - 10, max: BODY_LIMIT + 200 }).map((n) => "x".repeat(n)),
        },
      )
      .map((value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)));

  type Signing = "valid" | "valid-among-junk" | "wrong-secret" | "tampered" | "stale" | "none" | "junk";
  const signingArb = fc.constantFrom<Signing>(
    "valid",
    "valid",
    "valid-among-junk",
    "wrong-secret",
    "tampered",
    "stale",
    "none",
    "junk",
  );
  const caseArb = fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      body: bodyArb(route),
      signing: signingArb,
      contentType: contentTypeArb,
      junk: fc.record({ id: headerText(), timestamp: headerText(20), signature: headerText(200) }),
      junkEntries: fc.array(plausibleEntry, { maxLength: 5 }),
      tamperAt: fc.nat(),
      extraHeaders: fc.dictionary(
        fc.constantFrom("x-forwarded-for", "user-agent", "accept", "content-encoding", "x-junk"),
        headerText(40),
        { maxKeys: 3 },
      ),
    }),
  );

  it("always answers 200 (or 413 over the limit) with a valid interceptor answer, and ALLOW only when correctly signed", async () => {
    const decisions = { ALLOW: 0, DENY: 0 };
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const id = `msg_${Math.random().toString(36).slice(2)}`;
        const nowSeconds = Math.floor(Date.now() / 1000);
        let payload = c.body;
        let headers: Record<string, string> = {};
        const signed = (secret: string, timestamp = nowSeconds) => ({
          "interceptor-id": id,
          "interceptor-timestamp": String(timestamp),
          "interceptor-signature": sign({ secret, id, timestamp, body: payload }),
        });
        switch (c.signing) {
          case "valid":
            headers = signed(SECRET);
            break;
          case "valid-among-junk": {
            headers = signed(SECRET);
            const entries = [
              ...c.junkEntries.map((e) => e.replaceAll(" ", "")),
              headers["interceptor-signature"]!,
            ];
            headers["interceptor-signature"] = entries.join(" ");
            break;
          }
          case "wrong-secret":
            headers = signed(OTHER_SECRET);
            break;
          case "stale":
            headers = signed(SECRET, nowSeconds - 3_600);
            break;
          case "tampered": {
            headers = signed(SECRET);
            payload = Buffer.from(payload.length > 0 ? payload : Buffer.from("{}"));
            const index = c.tamperAt % payload.length;
            payload[index] = (payload[index] ?? 0) ^ 0x20;
            break;
          }
          case "junk":
            headers = {
              "interceptor-id": c.junk.id,
              "interceptor-timestamp": c.junk.timestamp,
              "interceptor-signature": c.junk.signature,
            };
            break;
          case "none":
            break;
        }
        const response = await app.inject({
          method: "POST",
          url: `/auth/interceptors${c.route}`,
          headers: {
            ...c.extraHeaders,
            ...(c.contentType !== undefined && { "content-type": c.contentType }),
            ...headers,
          },
          payload,
        });
        const overLimit = payload.length > BODY_LIMIT;
        // 413 exactly for a body over the limit, unless Fastify refused the content type before reading it.
        expect(response.statusCode).toBe(overLimit && response.statusCode !== 200 ? 413 : 200);
        if (response.statusCode === 413) expect(overLimit).toBe(true);
        const answer = interceptorAnswerSchema.parse(JSON.parse(response.body));
        decisions[answer.decision]++;
        const correctlySigned = c.signing === "valid" || c.signing === "valid-among-junk";
        if (!correctlySigned) {
          // Refused before verification (413, an unparseable content type) or failing it.
          expect([UNVERIFIED, UNREADABLE]).toContainEqual(JSON.parse(response.body));
        }
        if (overLimit) expect(JSON.parse(response.body)).toEqual(UNREADABLE);
      }),
      { numRuns: 400 },
    );
    // Both outcomes occur: the property says something about ALLOWs too.
    expect(decisions.ALLOW).toBeGreaterThan(0);
    expect(decisions.DENY).toBeGreaterThan(0);
    await expectStillAnswers(app);
  });
});
