import { describe, expect, it } from "vitest";
import { SignatureConfigError } from "./errors/signature-config-error.js";
import { sign } from "./sign.js";
import { SIGNATURE_HEADERS } from "./signature-headers.js";
import {
  createVerifier,
  MAX_SIGNATURE_ENTRIES,
  MAX_SIGNATURE_HEADER_LENGTH,
  type SignatureHeaderValues,
} from "./verify-signature.js";

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const OLD_SECRET = `whsec_${Buffer.alloc(24, 9).toString("base64")}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
const ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const NOW = 1_750_000_000; // seconds
const BODY = JSON.stringify({
  display_name: "Block disposable emails",
  trigger_point: "PRE_SIGNUP",
  interceptor_context: { user_email: "ada@example.com", ip_address: "203.0.113.7", region: "GB" },
});

const clock = (seconds: number) => () => seconds * 1000;
const verifier = createVerifier({ secrets: [SECRET], now: clock(NOW) });

function signed(
  overrides: { secret?: string; id?: string; timestamp?: number; body?: Buffer | string } = {},
) {
  return sign({
    secret: overrides.secret ?? SECRET,
    id: overrides.id ?? ID,
    timestamp: overrides.timestamp ?? NOW,
    body: overrides.body ?? BODY,
  });
}

function headers(
  signature: string | string[],
  id: string | string[] = ID,
  timestamp: string | string[] = `${NOW}`,
) {
  return { id, timestamp, signature };
}

/** A canonical-looking 44-character signature that matches nothing. */
const UNRELATED = signed({ secret: OTHER_SECRET });

describe("createVerifier().verify", () => {
  it("accepts what sign produced and reports the id and timestamp", () => {
    expect(verifier.verify(headers(signed()), BODY)).toEqual({ ok: true, id: ID, timestamp: NOW });
    expect(verifier.verify(headers(signed()), Buffer.from(BODY))).toEqual({
      ok: true,
      id: ID,
      timestamp: NOW,
    });
  });

  it("accepts the Standard Webhooks reference example", () => {
    const reference = createVerifier({
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      now: clock(1614265330),
    });
    const result = reference.verify(
      {
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp: "1614265330",
        signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      },
      '{"test": 2432232314}',
    );
    expect(result).toEqual({ ok: true, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330 });
  });

  it("verifies the raw bytes, including bytes that are not UTF-8", () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    expect(verifier.verify(headers(signed({ body })), body).ok).toBe(true);
    // The same body decoded as UTF-8 is different bytes (U+FFFD replacements), so it does not verify.
    expect(verifier.verify(headers(signed({ body })), body.toString("utf8"))).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
  });

  describe("missing_header", () => {
    const cases: Array<[string, SignatureHeaderValues]> = [
      ["no id", { timestamp: `${NOW}`, signature: signed() }],
      ["no timestamp", { id: ID, signature: signed() }],
      ["no signature", { id: ID, timestamp: `${NOW}` }],
      ["empty id", headers(signed(), "")],
      ["empty timestamp", headers(signed(), ID, "")],
      ["empty signature", headers("")],
      ["empty signature array", headers([])],
      ["signature array of empty strings", headers(["", ""])],
      ["duplicated id", headers(signed(), [ID, ID])],
      ["duplicated timestamp", headers(signed(), ID, [`${NOW}`, `${NOW}`])],
      ["empty id array", headers(signed(), [])],
    ];
    it.each(cases)("%s", (_name, values) => {
      expect(verifier.verify(values, BODY)).toEqual({ ok: false, reason: "missing_header" });
    });
  });

  describe("bad_timestamp", () => {
    it.each([
      "1e9",
      "  1750000000",
      "1750000000 ",
      "-1750000000",
      "+1750000000",
      "1750000000.0",
      "0x6850c280",
      "abc",
      "1750000000abc",
      "1".repeat(16),
    ])("%j", (timestamp) => {
      expect(verifier.verify(headers(signed(), ID, timestamp), BODY)).toEqual({
        ok: false,
        reason: "bad_timestamp",
      });
    });
  });

  it("reads leading zeros as the same number, as the official verifiers do", () => {
    expect(verifier.verify(headers(signed(), ID, `000${NOW}`), BODY)).toEqual({
      ok: true,
      id: ID,
      timestamp: NOW,
    });
  });

  describe("tolerance", () => {
    const at = (timestamp: number, toleranceSeconds?: number, nowMs = NOW * 1000) =>
      createVerifier({ secrets: [SECRET], now: () => nowMs, toleranceSeconds }).verify(
        headers(signed({ timestamp }), ID, `${timestamp}`),
        BODY,
      );

    it("accepts exactly 300 s in the past and rejects 301 s as too_old", () => {
      expect(at(NOW - 300)).toEqual({ ok: true, id: ID, timestamp: NOW - 300 });
      expect(at(NOW - 301)).toEqual({ ok: false, reason: "too_old" });
    });

    it("accepts exactly 300 s in the future and rejects 301 s as too_new", () => {
      expect(at(NOW + 300)).toEqual({ ok: true, id: ID, timestamp: NOW + 300 });
      expect(at(NOW + 301)).toEqual({ ok: false, reason: "too_new" });
    });

    it("uses whole seconds of the clock, like the official verifiers", () => {
      expect(at(NOW - 300, undefined, NOW * 1000 + 999).ok).toBe(true);
      expect(at(NOW - 300, undefined, NOW * 1000 + 1000)).toEqual({ ok: false, reason: "too_old" });
    });

    it("honours toleranceSeconds", () => {
      expect(at(NOW - 10, 10).ok).toBe(true);
      expect(at(NOW - 11, 10)).toEqual({ ok: false, reason: "too_old" });
      expect(at(NOW + 11, 10)).toEqual({ ok: false, reason: "too_new" });
      expect(at(NOW, 0).ok).toBe(true);
      expect(at(NOW + 1, 0)).toEqual({ ok: false, reason: "too_new" });
    });

    it("checks the timestamp before the signature", () => {
      expect(verifier.verify(headers("v1,garbage", ID, `${NOW - 3600}`), BODY)).toEqual({
        ok: false,
        reason: "too_old",
      });
    });

    it("fails closed when the clock returns NaN", () => {
      const broken = createVerifier({ secrets: [SECRET], now: () => Number.NaN });
      expect(broken.verify(headers(signed()), BODY)).toEqual({ ok: false, reason: "too_old" });
    });
  });

  describe("no_matching_signature", () => {
    const rejects = (values: SignatureHeaderValues, body: Buffer | string = BODY) =>
      expect(verifier.verify(values, body)).toEqual({ ok: false, reason: "no_matching_signature" });

    it("rejects a body tampered by one byte, wherever the byte is", () => {
      const original = Buffer.from(BODY);
      for (const position of [0, 1, Math.floor(original.length / 2), original.length - 1]) {
        const tampered = Buffer.from(original);
        tampered[position] = (tampered[position] ?? 0) ^ 0x01;
        rejects(headers(signed()), tampered);
      }
      rejects(headers(signed()), `${BODY} `);
      rejects(headers(signed()), BODY.slice(0, -1));
    });

    it("rejects a signature made for another id or another timestamp", () => {
      rejects(headers(signed({ id: "msg_other" })));
      rejects(headers(signed({ timestamp: NOW - 1 })));
      rejects(headers(signed({ timestamp: NOW + 1 })));
    });

    it("rejects a signature made with another secret", () => {
      rejects(headers(signed({ secret: OTHER_SECRET })));
    });

    it.each([
      ["empty", "v1,"],
      ["version only", "v1"],
      ["not base64", "v1,!!!!"],
      ["short", "v1,abc"],
      ["hex of the right digest", () => `v1,${Buffer.from(signed().slice(3), "base64").toString("hex")}`],
      ["unpadded", () => signed().slice(0, -1)],
      ["base64url spelling", () => signed().replaceAll("+", "-").replaceAll("/", "_")],
      ["one character changed", () => `v1,${flipFirstChar(signed().slice(3))}`],
      ["trailing garbage glued on", () => `${signed()}x`],
      ["missing version", () => signed().slice(3)],
      ["upper-case version", () => `V1,${signed().slice(3)}`],
      ["v2 entry with the right bytes", () => `v2,${signed().slice(3)}`],
      ["v1a version", () => `v1a,${signed().slice(3)}`],
    ])("garbage in the header: %s", (_name, value) => {
      rejects(headers(typeof value === "function" ? value() : value));
    });

    it("rejects a non-canonical spelling of the right digest", () => {
      const good = signed().slice(3);
      const last = good.charAt(42);
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      // Same 4 data bits, different 2 padding bits: decodes to the same bytes in Node, but is not canonical.
      const sibling = alphabet.charAt(alphabet.indexOf(last) + 1);
      const nonCanonical = `${good.slice(0, 42)}${sibling}=`;
      expect(Buffer.from(nonCanonical, "base64").equals(Buffer.from(good, "base64"))).toBe(true);
      rejects(headers(`v1,${nonCanonical}`));
    });

    it("rejects a signature header longer than the cap, even with a valid entry", () => {
      const padding = "x".repeat(MAX_SIGNATURE_HEADER_LENGTH);
      rejects(headers(`${padding} ${signed()}`));
      rejects(headers([padding, signed()]));
    });

    it("examines at most MAX_SIGNATURE_ENTRIES entries", () => {
      const filler = (count: number) => Array.from({ length: count }, () => UNRELATED);
      expect(
        verifier.verify(headers([...filler(MAX_SIGNATURE_ENTRIES - 1), signed()].join(" ")), BODY).ok,
      ).toBe(true);
      rejects(headers([...filler(MAX_SIGNATURE_ENTRIES), signed()].join(" ")));
      rejects(headers([...filler(MAX_SIGNATURE_ENTRIES), signed()])); // as duplicated headers
      // Empty entries (double spaces) count too.
      rejects(headers(`${" ".repeat(MAX_SIGNATURE_ENTRIES)}${signed()}`));
    });

    it("rejects a body that is neither a string nor bytes", () => {
      rejects(headers(signed()), null as unknown as string);
      rejects(headers(signed()), { length: 3 } as unknown as string);
    });
  });

  describe("several entries", () => {
    const accepts = (signature: string | string[]) =>
      expect(verifier.verify(headers(signature), BODY)).toEqual({ ok: true, id: ID, timestamp: NOW });

    it("accepts when only the second v1 entry matches", () => {
      accepts(`${UNRELATED} ${signed()}`);
    });

    it("accepts after a garbage v1 entry of another length", () => {
      accepts(`v1,abc ${signed()}`);
      accepts(`v1 ${signed()}`);
    });

    it("skips entries of other versions", () => {
      accepts(`v2,${"A".repeat(43)}= v1a,xyz ${signed()}`);
      accepts(`v1h,deadbeef,extra ${signed()} v2,zzz`);
    });

    it("tolerates repeated and trailing spaces", () => {
      accepts(`  ${UNRELATED}   ${signed()}  `);
    });

    it("ignores what follows a second comma, as the official verifiers do", () => {
      accepts(`${signed()},anything`);
      accepts(`${signed()},`);
    });
  });

  describe("duplicated headers", () => {
    it("joins a duplicated signature header", () => {
      expect(verifier.verify(headers([UNRELATED, signed()]), BODY).ok).toBe(true);
      expect(verifier.verify(headers(["", signed()]), BODY).ok).toBe(true);
    });

    it("accepts the comma-joined form Node gives a duplicated header", () => {
      expect(verifier.verify(headers(`${UNRELATED}, ${signed()}`), BODY).ok).toBe(true);
      expect(verifier.verify(headers(`v1,abc, ${signed()}`), BODY).ok).toBe(true);
    });

    it("unwraps one-element arrays", () => {
      expect(verifier.verify(headers([signed()], [ID], [`${NOW}`]), BODY)).toEqual({
        ok: true,
        id: ID,
        timestamp: NOW,
      });
    });

    it("treats a comma-joined duplicated timestamp as bad_timestamp", () => {
      expect(verifier.verify(headers(signed(), ID, `${NOW}, ${NOW}`), BODY)).toEqual({
        ok: false,
        reason: "bad_timestamp",
      });
    });
  });

  describe("key rotation", () => {
    const rotating = createVerifier({ secrets: [SECRET, OLD_SECRET], now: clock(NOW) });

    it("accepts signatures made with the new and with the old secret", () => {
      expect(rotating.verify(headers(signed()), BODY).ok).toBe(true);
      expect(rotating.verify(headers(signed({ secret: OLD_SECRET })), BODY).ok).toBe(true);
    });

    it("accepts either secret in any entry", () => {
      expect(rotating.verify(headers(`${UNRELATED} ${signed({ secret: OLD_SECRET })}`), BODY).ok).toBe(true);
    });

    it("rejects the old secret once it is removed, and a third secret always", () => {
      expect(verifier.verify(headers(signed({ secret: OLD_SECRET })), BODY)).toEqual({
        ok: false,
        reason: "no_matching_signature",
      });
      expect(rotating.verify(headers(signed({ secret: OTHER_SECRET })), BODY)).toEqual({
        ok: false,
        reason: "no_matching_signature",
      });
    });
  });

  describe("never throws", () => {
    const failureReasons = new Set([
      "missing_header",
      "bad_timestamp",
      "too_old",
      "too_new",
      "no_matching_signature",
    ]);
    const hostile: unknown[] = [
      undefined,
      null,
      0,
      "",
      "v1,",
      [],
      [null],
      [1, 2],
      {},
      { toString: () => "x" },
      Symbol("x"),
      "\u0000".repeat(100),
      "v1,".repeat(5000),
      " ".repeat(100_000),
      ",".repeat(100_000),
      "\ud800",
    ];

    it("answers every combination of hostile values with a failure reason", () => {
      for (const id of hostile) {
        for (const timestamp of [...hostile, `${NOW}`]) {
          for (const signature of [...hostile, signed()]) {
            const values = { id, timestamp, signature } as unknown as SignatureHeaderValues;
            const result = verifier.verify(values, BODY);
            expect(result.ok).toBe(false);
            if (!result.ok) expect(failureReasons.has(result.reason)).toBe(true);
          }
        }
      }
    });

    it("answers hostile header objects and bodies", () => {
      for (const values of [null, undefined, 42, "headers", []]) {
        expect(verifier.verify(values as unknown as SignatureHeaderValues, BODY)).toEqual({
          ok: false,
          reason: "missing_header",
        });
      }
      const throwing = {
        get id(): string {
          throw new Error("boom");
        },
      };
      expect(verifier.verify(throwing, BODY)).toEqual({ ok: false, reason: "no_matching_signature" });
    });

    it("answers random strings", () => {
      const alphabet = "v1,2 =+/Aa0_-.\u00e9";
      let seed = 42;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const randomString = () =>
        Array.from({ length: Math.floor(random() * 80) }, () =>
          alphabet.charAt(Math.floor(random() * alphabet.length)),
        ).join("");
      for (let round = 0; round < 2000; round++) {
        const result = verifier.verify(
          {
            id: randomString(),
            timestamp: random() < 0.5 ? `${NOW}` : randomString(),
            signature: randomString(),
          },
          randomString(),
        );
        expect(result.ok).toBe(false);
      }
    });

    it("answers when the configured clock throws", () => {
      const broken = createVerifier({
        secrets: [SECRET],
        now: () => {
          throw new Error("clock");
        },
      });
      expect(broken.verify(headers(signed()), BODY)).toEqual({ ok: false, reason: "no_matching_signature" });
    });
  });

  it("reads header names from SIGNATURE_HEADERS", () => {
    expect(SIGNATURE_HEADERS).toEqual({
      id: "interceptor-id",
      timestamp: "interceptor-timestamp",
      signature: "interceptor-signature",
    });
  });
});

describe("createVerifier configuration", () => {
  const configError = (options: Parameters<typeof createVerifier>[0]) => {
    try {
      createVerifier(options);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it("throws SignatureConfigError malformed_secret for an empty secret list", () => {
    const error = configError({ secrets: [] });
    expect(error).toBeInstanceOf(SignatureConfigError);
    expect(error).toMatchObject({ code: "malformed_secret", retryable: false, name: "SignatureConfigError" });
  });

  it("throws SignatureConfigError naming the index, never the secret, for a secret that does not decode", () => {
    const bad = "whsec_not base64!";
    const error = configError({ secrets: [SECRET, bad] });
    expect(error).toBeInstanceOf(SignatureConfigError);
    expect(error).toMatchObject({ code: "malformed_secret", retryable: false, context: { secretIndex: 1 } });
    expect((error as Error).message).not.toContain("not base64!");
  });

  it("throws RangeError for a tolerance that is not a finite number >= 0", () => {
    for (const toleranceSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createVerifier({ secrets: [SECRET], toleranceSeconds })).toThrow(RangeError);
    }
  });
});

function flipFirstChar(encoded: string): string {
  return `${encoded.charAt(0) === "A" ? "B" : "A"}${encoded.slice(1)}`;
}
