import { describe, expect, it } from "vitest";
import { SignatureConfigError } from "./errors/signature-config-error.js";
import { sign } from "./sign.js";
import { signedHeaders } from "./signed-headers.js";
import { generateSecret } from "./signing-secret.js";
import { createVerifier } from "./verify-signature.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("sign", () => {
  it("reproduces the Standard Webhooks reference example", () => {
    expect(
      sign({
        secret: SECRET,
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp: 1614265330,
        body: '{"test": 2432232314}',
      }),
    ).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("signs a string body as its UTF-8 bytes", () => {
    const body = '{"name":"Zoë 🚀"}';
    const input = { secret: SECRET, id: "msg_1", timestamp: 1614265330 };
    expect(sign({ ...input, body })).toBe(sign({ ...input, body: Buffer.from(body, "utf8") }));
  });

  it("changes with the id, the timestamp, the body and the secret", () => {
    const base = { secret: SECRET, id: "msg_1", timestamp: 1614265330, body: "{}" };
    const signatures = new Set([
      sign(base),
      sign({ ...base, id: "msg_2" }),
      sign({ ...base, timestamp: 1614265331 }),
      sign({ ...base, body: "{} " }),
      sign({ ...base, secret: generateSecret() }),
    ]);
    expect(signatures.size).toBe(5);
  });

  it("throws SignatureConfigError for a malformed secret", () => {
    expect(() => sign({ secret: "whsec_???", id: "msg_1", timestamp: 1, body: "" })).toThrow(
      SignatureConfigError,
    );
  });

  it("throws RangeError for an empty id or a timestamp that is not whole seconds", () => {
    expect(() => sign({ secret: SECRET, id: "", timestamp: 1, body: "" })).toThrow(RangeError);
    for (const timestamp of [-1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => sign({ secret: SECRET, id: "msg_1", timestamp, body: "" })).toThrow(RangeError);
    }
  });
});

describe("signedHeaders", () => {
  it("returns the three interceptor headers, signed", () => {
    const headers = signedHeaders({ secret: SECRET, body: "{}", id: "msg_1", timestamp: 1614265330 });
    expect(headers).toEqual({
      "interceptor-id": "msg_1",
      "interceptor-timestamp": "1614265330",
      "interceptor-signature": sign({ secret: SECRET, id: "msg_1", timestamp: 1614265330, body: "{}" }),
    });
  });

  it("defaults to a fresh msg_ id and the current time, which verify", () => {
    const before = Math.floor(Date.now() / 1000);
    const first = signedHeaders({ secret: SECRET, body: "{}" });
    const second = signedHeaders({ secret: SECRET, body: "{}" });
    const after = Math.floor(Date.now() / 1000);

    expect(first["interceptor-id"]).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
    expect(first["interceptor-id"]).not.toBe(second["interceptor-id"]);
    const timestamp = Number(first["interceptor-timestamp"]);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);

    const result = createVerifier({ secrets: [SECRET] }).verify(
      {
        id: first["interceptor-id"],
        timestamp: first["interceptor-timestamp"],
        signature: first["interceptor-signature"],
      },
      "{}",
    );
    expect(result).toEqual({ ok: true, id: first["interceptor-id"], timestamp });
  });
});
