// Gatehouse against verifiers nobody here wrote: @scalekit-sdk/node's `verifyInterceptorPayload` and the
// Standard Webhooks reference library. Both read the real clock, so the cases are built from it.
import { ScalekitClient, WebhookVerificationError as ScalekitVerificationError } from "@scalekit-sdk/node";
import { WebhookVerificationError as StandardVerificationError, Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { sign } from "./sign.js";
import { SIGNATURE_HEADERS } from "./signature-headers.js";
import { generateSecret } from "./signing-secret.js";
import { createVerifier, MAX_SIGNATURE_ENTRIES } from "./verify-signature.js";

// The constructor only stores the URL and builds (unconnected) transports; verifyInterceptorPayload is
// pure computation, so no network is touched.
const scalekit = new ScalekitClient("https://gatehouse-tests.invalid", "skc_test", "test-client-secret");

/** The official SDK's verdict: true, or false when it throws its verification error. Anything else fails. */
function scalekitVerdict(secret: string, request: SignedRequest): boolean {
  try {
    return (
      scalekit.verifyInterceptorPayload(
        secret,
        {
          [SIGNATURE_HEADERS.id]: request.id,
          [SIGNATURE_HEADERS.timestamp]: request.timestamp,
          [SIGNATURE_HEADERS.signature]: request.signature,
        },
        // Typed as string; at run time it interpolates the body into a string, so a Buffer is accepted.
        request.body as string,
      ) === true
    );
  } catch (error) {
    if (error instanceof ScalekitVerificationError) return false;
    throw error;
  }
}

/** standardwebhooks' verdict: false when it refuses the secret or throws its verification error. */
function standardVerdict(secret: string, request: SignedRequest): boolean {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    return false; // the constructor refuses secrets it cannot decode
  }
  try {
    webhook.verify(
      request.body,
      {
        "webhook-id": request.id,
        "webhook-timestamp": request.timestamp,
        "webhook-signature": request.signature,
      },
      { jsonParse: false },
    );
    return true;
  } catch (error) {
    if (error instanceof StandardVerificationError) return false;
    throw error;
  }
}

function gatehouseVerdict(secrets: string[], request: SignedRequest): boolean {
  return createVerifier({ secrets }).verify(
    { id: request.id, timestamp: request.timestamp, signature: request.signature },
    request.body,
  ).ok;
}

interface SignedRequest {
  id: string;
  timestamp: string;
  signature: string;
  body: Buffer | string;
}

interface InteropCase extends SignedRequest {
  name: string;
  secret: string;
  /** Gatehouse's verdict, which every official verifier shares unless `divergence` says otherwise. */
  valid: boolean;
  /** An official verifier that disagrees: its (observed) verdict and why. */
  divergence?: { scalekit?: boolean; standardWebhooks?: boolean; why: string };
}

const SECRET = generateSecret();
const OTHER_SECRET = generateSecret();
/** Configured beside the case's secret to check that rotation never changes a verdict. */
const NEXT_SECRET = generateSecret();
const ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const BODY = JSON.stringify({
  display_name: "Provision into existing org",
  trigger_point: "PRE_SIGNUP",
  interceptor_context: {
    environment_id: "env_123456789",
    user_email: "ada.lovelace@example.com",
    organization_id: "org_987654321",
    device_type: "desktop",
    ip_address: "203.0.113.7",
    region: "GB",
    city: "London",
    user_agent:
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15",
    triggered_at: "2025-06-15T10:00:00Z",
  },
  data: { user: { id: "usr_1", email: "ada.lovelace@example.com", memberships: [] } },
});

function buildCases(): InteropCase[] {
  const now = Math.floor(Date.now() / 1000);
  const sig = (
    overrides: { secret?: string; id?: string; timestamp?: number; body?: Buffer | string } = {},
  ) =>
    sign({
      secret: overrides.secret ?? SECRET,
      id: overrides.id ?? ID,
      timestamp: overrides.timestamp ?? now,
      body: overrides.body ?? BODY,
    });
  const base = { secret: SECRET, id: ID, timestamp: `${now}`, body: BODY as Buffer | string };
  const good = sig();
  const unrelated = sig({ secret: OTHER_SECRET });
  const tampered = Buffer.from(BODY);
  tampered[10] = (tampered[10] ?? 0) ^ 0x01;
  const nonUtf8 = Buffer.concat([
    Buffer.from('{"name":"'),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}'),
  ]);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const lastChar = good.charAt(45);
  const nonCanonical = `${good.slice(0, 45)}${alphabet.charAt(alphabet.indexOf(lastChar) + 1)}=`;
  // A signature with + or / in it, to spell it in base64url.
  let urlId = ID;
  for (let n = 0; !/[+/]/.test(sig({ id: urlId })); n++) urlId = `${ID}_${n}`;
  const urlSafe = sig({ id: urlId }).replaceAll("+", "-").replaceAll("/", "_");
  const bareSecret = SECRET.slice("whsec_".length);
  const otherPrefixSecret = `sk_${bareSecret}`;
  const parseIntWhy =
    "Gatehouse accepts digits only; both official verifiers parseInt() the header and sign the number it yields";

  return [
    { ...base, name: "valid", signature: good, valid: true },
    {
      ...base,
      name: "290 s old",
      timestamp: `${now - 290}`,
      signature: sig({ timestamp: now - 290 }),
      valid: true,
    },
    {
      ...base,
      name: "290 s in the future",
      timestamp: `${now + 290}`,
      signature: sig({ timestamp: now + 290 }),
      valid: true,
    },
    {
      ...base,
      name: "stale (400 s)",
      timestamp: `${now - 400}`,
      signature: sig({ timestamp: now - 400 }),
      valid: false,
    },
    {
      ...base,
      name: "future (400 s)",
      timestamp: `${now + 400}`,
      signature: sig({ timestamp: now + 400 }),
      valid: false,
    },
    {
      ...base,
      name: "milliseconds timestamp",
      timestamp: `${now * 1000}`,
      signature: sig({ timestamp: now * 1000 }),
      valid: false,
    },
    { ...base, name: "tampered body (one byte)", body: tampered, signature: good, valid: false },
    { ...base, name: "body with a trailing newline", body: `${BODY}\n`, signature: good, valid: false },
    { ...base, name: "wrong secret", signature: unrelated, valid: false },
    { ...base, name: "signed for another id", signature: sig({ id: "msg_other" }), valid: false },
    { ...base, name: "signed for another timestamp", signature: sig({ timestamp: now - 1 }), valid: false },
    { ...base, name: "second v1 entry matches", signature: `${unrelated} ${good}`, valid: true },
    { ...base, name: "v2 entry then v1", signature: `v2,${good.slice(3)} ${good}`, valid: true },
    { ...base, name: "only a v2 entry with the right bytes", signature: `v2,${good.slice(3)}`, valid: false },
    { ...base, name: "upper-case V1", signature: `V1,${good.slice(3)}`, valid: false },
    { ...base, name: "garbage after v1,", signature: "v1,this-is-not-a-signature", valid: false },
    { ...base, name: "empty v1 entry", signature: "v1,", valid: false },
    { ...base, name: "missing signature", signature: "", valid: false },
    { ...base, name: "missing id", id: "", signature: good, valid: false },
    { ...base, name: "missing timestamp", timestamp: "", signature: good, valid: false },
    { ...base, name: "comma-joined duplicate header", signature: `${unrelated}, ${good}`, valid: true },
    { ...base, name: "text after a second comma", signature: `${good},whatever`, valid: true },
    { ...base, name: "timestamp with leading zeros", timestamp: `00${now}`, signature: good, valid: true },
    { ...base, name: "empty body", body: "", signature: sig({ body: "" }), valid: true },
    {
      ...base,
      name: "non-ASCII UTF-8 body",
      body: '{"city":"Zürich","emoji":"🔐"}',
      signature: sig({ body: '{"city":"Zürich","emoji":"🔐"}' }),
      valid: true,
    },
    // Where the official verifiers disagree with each other, Gatehouse sides with one of them.
    {
      ...base,
      name: "short garbage v1 entry before the matching one",
      signature: `v1,abc ${good}`,
      valid: true,
      divergence: {
        scalekit: false,
        why: "the SDK calls timingSafeEqual on buffers of different lengths; the RangeError ends the loop as 'Invalid Signature'",
      },
    },
    {
      ...base,
      name: "bare v1 entry before the matching one",
      signature: `v1 ${good}`,
      valid: true,
      divergence: { scalekit: false, why: "Buffer.from(undefined) throws inside the SDK's loop" },
    },
    {
      ...base,
      name: "Node-joined duplicate with a short first entry",
      signature: `v1,abc, ${good}`,
      valid: true,
      divergence: { scalekit: false, why: "same length-mismatch throw as above" },
    },
    {
      ...base,
      name: "unpadded signature",
      signature: good.slice(0, -1),
      valid: false,
      divergence: {
        scalekit: true,
        why: "the SDK compares leniently decoded bytes; standardwebhooks compares strings",
      },
    },
    {
      ...base,
      name: "non-canonical last base64 character",
      signature: nonCanonical,
      valid: false,
      divergence: { scalekit: true, why: "Buffer.from(…, 'base64') drops the two padding bits" },
    },
    {
      ...base,
      name: "base64url spelling",
      id: urlId,
      signature: urlSafe,
      valid: false,
      divergence: { scalekit: true, why: "Buffer.from(…, 'base64') also reads the URL-safe alphabet" },
    },
    {
      ...base,
      name: "bare base64 secret",
      secret: bareSecret,
      signature: good,
      valid: true,
      divergence: { scalekit: false, why: "the SDK requires an underscore in the secret ('Invalid secret')" },
    },
    {
      ...base,
      name: "secret with another prefix",
      secret: otherPrefixSecret,
      signature: good,
      valid: true,
      divergence: {
        standardWebhooks: false,
        why: "standardwebhooks strips only 'whsec_' and then refuses '_'",
      },
    },
    // Deliberate: Gatehouse is stricter than both, for bounded work and an unambiguous timestamp.
    {
      ...base,
      name: "timestamp with a suffix",
      timestamp: `${now}abc`,
      signature: good,
      valid: false,
      divergence: { scalekit: true, standardWebhooks: true, why: parseIntWhy },
    },
    {
      ...base,
      name: "timestamp with leading whitespace",
      timestamp: ` ${now}`,
      signature: good,
      valid: false,
      divergence: { scalekit: true, standardWebhooks: true, why: parseIntWhy },
    },
    {
      ...base,
      name: `matching entry after ${MAX_SIGNATURE_ENTRIES} others`,
      signature: [...Array.from({ length: MAX_SIGNATURE_ENTRIES }, () => unrelated), good].join(" "),
      valid: false,
      divergence: { scalekit: true, standardWebhooks: true, why: "Gatehouse examines at most 32 entries" },
    },
    {
      ...base,
      name: "matching entry after 9 KiB of junk",
      signature: `${"x".repeat(9 * 1024)} ${good}`,
      valid: false,
      divergence: {
        scalekit: true,
        standardWebhooks: true,
        why: "Gatehouse ignores signature headers over 8 KiB",
      },
    },
    {
      ...base,
      name: "body that is not UTF-8, signed over its raw bytes",
      body: nonUtf8,
      signature: sig({ body: nonUtf8 }),
      valid: true,
      divergence: {
        scalekit: false,
        standardWebhooks: false,
        why: "both official verifiers turn the body into a string first, replacing invalid bytes with U+FFFD",
      },
    },
  ];
}

describe("verdicts match the official verifiers", () => {
  const cases = buildCases();

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const gatehouse = gatehouseVerdict([c.secret], c);
    const scalekitExpected = c.divergence?.scalekit ?? c.valid;
    const standardExpected = c.divergence?.standardWebhooks ?? c.valid;

    expect({
      gatehouse,
      gatehouseRotating: gatehouseVerdict([NEXT_SECRET, c.secret], c),
      scalekit: scalekitVerdict(c.secret, c),
      standardWebhooks: standardVerdict(c.secret, c),
    }).toEqual({
      gatehouse: c.valid,
      gatehouseRotating: c.valid,
      scalekit: scalekitExpected,
      standardWebhooks: standardExpected,
    });
  });

  it("has no divergence where both official verifiers agree, except the deliberate bounds", () => {
    const deliberate = new Set([
      "timestamp with a suffix",
      "timestamp with leading whitespace",
      `matching entry after ${MAX_SIGNATURE_ENTRIES} others`,
      "matching entry after 9 KiB of junk",
      "body that is not UTF-8, signed over its raw bytes",
    ]);
    for (const c of cases) {
      const scalekit = c.divergence?.scalekit ?? c.valid;
      const standard = c.divergence?.standardWebhooks ?? c.valid;
      if (scalekit === standard && !deliberate.has(c.name))
        expect([c.name, c.valid]).toEqual([c.name, scalekit]);
    }
  });
});

describe("signatures cross over", () => {
  const randomBody = (n: number) =>
    JSON.stringify({ n, text: 'é🔐\u0000"\\'.repeat(n % 7), pad: "x".repeat(n * 13) });

  it("what Gatehouse signs, both official verifiers accept", () => {
    for (let n = 0; n < 50; n++) {
      const secret = generateSecret();
      const request = {
        id: `msg_${n}`,
        timestamp: `${Math.floor(Date.now() / 1000) - n}`,
        body: randomBody(n),
        signature: "",
      };
      request.signature = sign({
        secret,
        id: request.id,
        timestamp: Number(request.timestamp),
        body: request.body,
      });
      expect([n, scalekitVerdict(secret, request), standardVerdict(secret, request)]).toEqual([
        n,
        true,
        true,
      ]);
    }
  });

  it("what standardwebhooks signs, Gatehouse accepts, and the signatures are identical", () => {
    for (let n = 0; n < 50; n++) {
      const secret = generateSecret();
      const id = `msg_${n}`;
      const timestamp = Math.floor(Date.now() / 1000) + n;
      const body = randomBody(n);
      const theirs = new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
      expect(theirs).toBe(sign({ secret, id, timestamp, body }));
      const result = createVerifier({ secrets: [secret] }).verify(
        { id, timestamp: `${timestamp}`, signature: theirs },
        body,
      );
      expect(result).toEqual({ ok: true, id, timestamp });
    }
  });

  it("what standardwebhooks signs with a bare or 24-byte secret, Gatehouse accepts", () => {
    const timestamp = Math.floor(Date.now() / 1000);
    for (const secret of [
      Buffer.alloc(24, 5).toString("base64"),
      `whsec_${Buffer.alloc(24, 5).toString("base64")}`,
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ]) {
      const signature = new Webhook(secret).sign("msg_x", new Date(timestamp * 1000), BODY);
      expect(
        createVerifier({ secrets: [secret] }).verify(
          { id: "msg_x", timestamp: `${timestamp}`, signature },
          BODY,
        ).ok,
      ).toBe(true);
    }
  });
});
