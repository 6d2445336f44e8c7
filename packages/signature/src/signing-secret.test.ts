import { describe, expect, it } from "vitest";
import { SignatureConfigError } from "./errors/signature-config-error.js";
import { decodeSecret, generateSecret } from "./signing-secret.js";

const KEY = Buffer.from("0123456789abcdef0123456789abcdef");
const BASE64 = KEY.toString("base64");

describe("decodeSecret", () => {
  it("decodes the part after whsec_", () => {
    expect(decodeSecret(`whsec_${BASE64}`)).toEqual(KEY);
  });

  it("decodes the part after the first underscore whatever the prefix, as @scalekit-sdk/node does", () => {
    expect(decodeSecret(`sk_${BASE64}`)).toEqual(KEY);
  });

  it("decodes a bare base64 secret, as standardwebhooks does", () => {
    expect(decodeSecret(BASE64)).toEqual(KEY);
    expect(decodeSecret("QUI=")).toEqual(Buffer.from("AB"));
    expect(decodeSecret("QQ==")).toEqual(Buffer.from("A"));
  });

  it.each([
    ["empty", ""],
    ["prefix only", "whsec_"],
    ["unpadded", `whsec_${BASE64.replace(/=+$/, "")}`],
    ["too much padding", "whsec_QQ==="],
    ["padding in the middle", "whsec_QU=IQUJD"],
    ["whitespace", `whsec_${BASE64}\n`],
    ["inner space", `whsec_${BASE64.slice(0, 4)} ${BASE64.slice(4)}`],
    ["base64url alphabet", "whsec_ab-_"],
    ["second underscore", `whsec_${BASE64.slice(0, 8)}_${BASE64.slice(8)}`],
    ["not a string", 42 as unknown as string],
  ])("refuses %s with SignatureConfigError malformed_secret", (_name, secret) => {
    let caught: unknown;
    try {
      decodeSecret(secret, 3);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SignatureConfigError);
    expect(caught).toMatchObject({ code: "malformed_secret", retryable: false, context: { secretIndex: 3 } });
  });
});

describe("generateSecret", () => {
  it("returns whsec_ and the base64 of 32 random bytes", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeSecret(secret)).toHaveLength(32);
  });

  it("returns a different secret each time", () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSecret));
    expect(secrets.size).toBe(50);
  });
});
