import { TRIGGER_POINTS } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { buildRequestBody } from "./build-request.js";
import { prepareSignedRequest, STALE_SECONDS, tamperBody } from "./signed-request.js";
import { signatureMatches, testSecret } from "./testing/echo-ingress.js";

const secret = testSecret();
const base = "http://127.0.0.1:8080";

describe("prepareSignedRequest", () => {
  it.each([
    ["PRE_SIGNUP", "/auth/interceptors/pre-signup"],
    ["PRE_SESSION_CREATION", "/auth/interceptors/pre-session-creation"],
    ["PRE_USER_INVITATION", "/auth/interceptors/pre-user-invitation"],
    ["PRE_M2M_TOKEN_CREATION", "/auth/interceptors/pre-m2m-token-creation"],
    ["POST_USER_AUTHENTICATION", "/auth/interceptors"],
  ] as const)("posts %s to %s", (trigger, path) => {
    const request = prepareSignedRequest({ url: base, secret, trigger, body: buildRequestBody(trigger) });
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`${base}${path}`);
    expect(prepareSignedRequest({ url: `${base}/`, secret, trigger, body: "{}" }).url).toBe(`${base}${path}`);
  });

  it.each(TRIGGER_POINTS)("signs the exact %s bytes it sends", (trigger) => {
    const request = prepareSignedRequest({ url: base, secret, trigger, body: buildRequestBody(trigger) });
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["interceptor-id"]).toMatch(/^msg_/);
    expect(request.headers["interceptor-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(signatureMatches(secret, request.headers, Buffer.from(request.body))).toBe(true);
    expect(signatureMatches(testSecret(), request.headers, Buffer.from(request.body))).toBe(false);
  });

  it("sends a string body byte for byte", () => {
    const body = '{ "trigger_point" : "PRE_SIGNUP", "note": "ünïcödé" }\n';
    const request = prepareSignedRequest({ url: base, secret, trigger: "PRE_SIGNUP", body, id: "msg_fixed" });
    expect(request.body).toBe(body);
    expect(request.headers["interceptor-id"]).toBe("msg_fixed");
    expect(signatureMatches(secret, request.headers, Buffer.from(body))).toBe(true);
  });

  it("signs with the current time, or 10 minutes earlier with stale", () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const seconds = now.getTime() / 1000;
    const fresh = prepareSignedRequest({ url: base, secret, trigger: "PRE_SIGNUP", body: "{}", now });
    expect(fresh.timestamp).toBe(seconds);
    expect(fresh.headers["interceptor-timestamp"]).toBe(String(seconds));
    const stale = prepareSignedRequest({
      url: base,
      secret,
      trigger: "PRE_SIGNUP",
      body: "{}",
      now,
      stale: true,
    });
    expect(STALE_SECONDS).toBe(600);
    expect(stale.headers["interceptor-timestamp"]).toBe(String(seconds - 600));
    // Stale but correctly signed: only the replay window can refuse it.
    expect(signatureMatches(secret, stale.headers, Buffer.from(stale.body))).toBe(true);
  });

  it("changes exactly one byte after signing with tamper, keeping valid JSON", () => {
    const body = buildRequestBody("PRE_SIGNUP");
    const request = prepareSignedRequest({ url: base, secret, trigger: "PRE_SIGNUP", body, tamper: true });
    const signed = JSON.stringify(body);
    expect(request.body).not.toBe(signed);
    expect(request.body).toHaveLength(signed.length);
    const differences = [...signed].filter((char, index) => request.body[index] !== char);
    expect(differences).toHaveLength(1);
    expect(request.tampered).toEqual({ offset: 17, from: "P", to: "Q" });
    expect(JSON.parse(request.body)).toMatchObject({
      display_name: "Qre-Signup",
      trigger_point: "PRE_SIGNUP",
    });
    expect(signatureMatches(secret, request.headers, Buffer.from(request.body))).toBe(false);
  });
});

describe("tamperBody", () => {
  it.each([
    ['{"a":"z"}', '{"a":"a"}'],
    ['{"a":"Z"}', '{"a":"A"}'],
    ['{"a":"9"}', '{"a":"0"}'],
    ['{"n":1,"s":"abc"}', '{"n":1,"s":"bbc"}'],
    ['{"n":12}', '{"o":12}'],
    ["[1]", "[2]"],
  ])("turns %s into %s", (before, after) => {
    expect(tamperBody(before)?.body).toBe(after);
  });

  it("gives up on a body without letters or digits", () => {
    expect(tamperBody("{}")).toBeUndefined();
  });
});
