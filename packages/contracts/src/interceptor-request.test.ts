import { describe, expect, it } from "vitest";
import { REQUEST_FIXTURES, requestFixture } from "./fixtures.js";
import {
  emailAddress,
  interceptorRequestSchema,
  ipAddress,
  parseInterceptorRequest,
} from "./interceptor-request.js";

type Json = Record<string, unknown>;

/** The documented new-user PRE_SIGNUP body, with changes to interceptor_context. */
function preSignup(context: Json = {}): Json {
  const body = requestFixture("PRE_SIGNUP_NEW_USER");
  body.interceptor_context = { ...(body.interceptor_context as Json), ...context };
  return body;
}

function expectInvalid(body: unknown, path: string) {
  const result = parseInterceptorRequest(body);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.reason).toBe("body.invalid");
  expect(result.issues?.some((issue) => issue.startsWith(`${path}:`))).toBe(true);
}

describe("parseInterceptorRequest: the documented bodies", () => {
  it.each(REQUEST_FIXTURES)("accepts the %s fixture as its own trigger", (name) => {
    const body = requestFixture(name);
    const result = parseInterceptorRequest(body);
    expect(result).toMatchObject({ ok: true, request: { trigger_point: body.trigger_point } });
  });

  it.each(REQUEST_FIXTURES)("keeps undocumented fields of the %s fixture at every level", (name) => {
    const body = requestFixture(name);
    body.gatehouse_extra = { nested: [1, 2] };
    (body.interceptor_context as Json).risk_score = 0.7;
    const data = (body.data ?? {}) as Json;
    body.data = data;
    data.user = { ...((data.user as Json | undefined) ?? {}), favourite_colour: "teal" };

    const result = parseInterceptorRequest(body);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const request = result.request as Json & { interceptor_context: Json; data: { user: Json } };
    expect(request.gatehouse_extra).toEqual({ nested: [1, 2] });
    expect(request.interceptor_context.risk_score).toBe(0.7);
    expect(request.data.user.favourite_colour).toBe("teal");
  });

  it("keeps the documented but unmodelled fields (auth_request, memberships metadata, m2m custom claims)", () => {
    const signup = parseInterceptorRequest(requestFixture("PRE_SIGNUP"));
    expect(signup.ok && signup.request.interceptor_context.auth_request).toMatchObject({
      domain: "foocorp.com",
    });
    expect(signup.ok && signup.request.data?.user?.memberships?.[0]).toMatchObject({
      organization_name: "Example inc",
      metadata: { department: "engineering" },
    });
    const m2m = parseInterceptorRequest(requestFixture("PRE_M2M_TOKEN_CREATION"));
    expect(m2m.ok && m2m.request.data?.m2m_token_claims?.claims).toMatchObject({
      custom_claims: { service_name: "deployment-automation" },
    });
  });

  it("returns a fresh fixture copy each time, so a test that edits one cannot affect another", () => {
    const first = requestFixture("PRE_SIGNUP");
    (first.interceptor_context as Json).user_email = "changed@example.com";
    expect((requestFixture("PRE_SIGNUP").interceptor_context as Json).user_email).toBe(
      "john.doe@acmecorp.com",
    );
  });
});

describe("parseInterceptorRequest: zod's compiled fast path", () => {
  // The ingress validates with z.compile's generated code: what it returns must be what the regular parser
  // returns, for valid bodies (the same copy, unknown keys and nulls kept) and invalid ones (the same issues).
  const runtime = (body: unknown) => {
    const result = interceptorRequestSchema.safeParse(body);
    return result.success
      ? { ok: true, request: result.data }
      : { ok: false, issues: result.error.issues.slice(0, 5).map((issue) => issue.path.join(".")) };
  };
  const compiled = (body: unknown) => {
    const result = parseInterceptorRequest(body);
    return result.ok
      ? { ok: true, request: result.request }
      : { ok: false, issues: result.issues?.map((issue) => issue.slice(0, issue.indexOf(":"))) };
  };

  it.each(REQUEST_FIXTURES)(
    "returns the regular parser's copy of the %s fixture, extras and nulls kept",
    (name) => {
      const body = requestFixture(name);
      body.extra = { nested: [1, { deep: null }] };
      (body.interceptor_context as Json).region = null;
      const result = compiled(body);
      expect(result).toEqual(runtime(body));
      expect(result.ok && result.request).not.toBe(body);
    },
  );

  it.each([
    ["a bad email", preSignup({ user_email: "not-an-email" })],
    ["a bad IP", preSignup({ ip_address: "999.1.1.1" })],
    ["a missing required field", preSignup({ user_email: null })],
    ["wrong types at two levels", { ...preSignup({ region: 7 }), display_name: ["x"] }],
  ])("reports the regular parser's issues for %s", (_name, body) => {
    const result = compiled(body);
    expect(result.ok).toBe(false);
    expect(result).toEqual(runtime(body));
  });
});

describe("parseInterceptorRequest: rejections are values with a reason", () => {
  it.each([
    ["null", null],
    ["an array", [requestFixture("PRE_SIGNUP")]],
    ["a string", JSON.stringify(requestFixture("PRE_SIGNUP"))],
    ["a number", 42],
    ["undefined", undefined],
  ])("rejects %s as body.not_object", (_label, body) => {
    expect(parseInterceptorRequest(body)).toEqual({ ok: false, reason: "body.not_object" });
  });

  it.each([
    ["an unknown name", "PRE_LOGOUT", "PRE_LOGOUT"],
    ["a lower-case slug", "pre-signup", "pre-signup"],
    ["an inherited property name", "toString", "toString"],
    ["__proto__", "__proto__", "__proto__"],
    ["a number", 7, ""],
    ["null", null, ""],
  ])("rejects %s as trigger_point with body.unknown_trigger", (_label, trigger, reported) => {
    const body = { ...requestFixture("PRE_SIGNUP"), trigger_point: trigger };
    expect(parseInterceptorRequest(body)).toEqual({
      ok: false,
      reason: "body.unknown_trigger",
      trigger: reported,
    });
  });

  it("rejects a missing trigger_point with body.unknown_trigger", () => {
    const { trigger_point: _, ...body } = requestFixture("PRE_SIGNUP");
    expect(parseInterceptorRequest(body)).toMatchObject({ ok: false, reason: "body.unknown_trigger" });
  });

  it("cuts a long unknown trigger to 64 characters, so logs stay bounded", () => {
    const result = parseInterceptorRequest({
      ...requestFixture("PRE_SIGNUP"),
      trigger_point: "X".repeat(10_000),
    });
    expect(result).toMatchObject({ ok: false, reason: "body.unknown_trigger", trigger: "X".repeat(64) });
  });

  it.each([
    ["interceptor_context", "interceptor_context", "not an object"],
    ["interceptor_context", "interceptor_context", []],
    ["interceptor_context.user_email", "user_email", 123],
    ["interceptor_context.ip_address", "ip_address", 3_232_235_777],
    ["interceptor_context.user_id", "user_id", { id: "usr_1" }],
    ["interceptor_context.connection_details", "connection_details", "OAUTH"],
    ["interceptor_context.auth_request", "auth_request", "state=abc"],
    ["interceptor_context.triggered_at", "triggered_at", 1_760_000_000],
    ["display_name", "display_name", 5],
    ["data", "data", "none"],
  ])("rejects a wrong type at %s", (path, field, value) => {
    const body =
      field === "interceptor_context" || field === "display_name" || field === "data"
        ? { ...requestFixture("PRE_SIGNUP_NEW_USER"), [field]: value }
        : preSignup({ [field]: value });
    expectInvalid(body, path);
  });

  it("rejects wrong types inside data", () => {
    const withMemberships = requestFixture("PRE_SIGNUP");
    ((withMemberships.data as Json).user as Json).memberships = { organization_id: "org_1" };
    expectInvalid(withMemberships, "data.user.memberships");

    const withScope = requestFixture("PRE_M2M_TOKEN_CREATION");
    const claims = ((withScope.data as Json).m2m_token_claims as Json).claims as Json;
    claims.scopes = "read write";
    expectInvalid(withScope, "data.m2m_token_claims.claims.scopes");
  });

  it("rejects oversized strings instead of carrying them into logs and cache keys", () => {
    expectInvalid(preSignup({ user_agent: "A".repeat(5000) }), "interceptor_context.user_agent");
  });

  it("reports at most five issues", () => {
    const result = parseInterceptorRequest({
      trigger_point: "PRE_SIGNUP",
      display_name: 1,
      interceptor_context: { user_email: 1, user_id: 2, ip_address: 3, region: 4, city: 5, device_type: 6 },
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues).toHaveLength(5);
  });
});

describe("parseInterceptorRequest: the fields each trigger cannot do without", () => {
  it.each([
    ["PRE_SIGNUP_NEW_USER", "user_email"],
    ["PRE_SESSION_CREATION", "user_id"],
    ["PRE_USER_INVITATION", "user_email"],
    ["PRE_USER_INVITATION", "organization_id"],
    ["PRE_M2M_TOKEN_CREATION", "client_id"],
  ] as const)("rejects %s without interceptor_context.%s", (fixture, field) => {
    const body = requestFixture(fixture);
    delete (body.interceptor_context as Json)[field];
    const result = parseInterceptorRequest(body);
    expect(result).toMatchObject({ ok: false, reason: "body.invalid" });
    expect(!result.ok && result.issues).toContainEqual(
      `interceptor_context.${field}: ${field} is required for ${body.trigger_point}`,
    );
  });

  it.each([
    ["PRE_SESSION_CREATION", "user_id"],
    ["PRE_USER_INVITATION", "organization_id"],
    ["PRE_M2M_TOKEN_CREATION", "client_id"],
  ] as const)(
    "rejects %s with an empty interceptor_context.%s (ids end up in cache keys)",
    (fixture, field) => {
      const body = requestFixture(fixture);
      (body.interceptor_context as Json)[field] = "";
      expect(parseInterceptorRequest(body)).toMatchObject({ ok: false, reason: "body.invalid" });
    },
  );

  it("accepts POST_USER_AUTHENTICATION with an empty interceptor_context (no field is required)", () => {
    const result = parseInterceptorRequest({
      trigger_point: "POST_USER_AUTHENTICATION",
      interceptor_context: {},
    });
    expect(result.ok).toBe(true);
  });

  it("accepts PRE_M2M_TOKEN_CREATION without a user or an email (machines have neither)", () => {
    const result = parseInterceptorRequest({
      trigger_point: "PRE_M2M_TOKEN_CREATION",
      interceptor_context: { client_id: "m2m_1" },
    });
    expect(result.ok).toBe(true);
  });

  it("accepts PRE_SIGNUP without user_id and data.user (a brand-new user)", () => {
    const result = parseInterceptorRequest(requestFixture("PRE_SIGNUP_NEW_USER"));
    expect(result.ok && result.request.interceptor_context.user_id).toBeUndefined();
    expect(result.ok && result.request.data?.user).toBeUndefined();
  });
});

describe("parseInterceptorRequest: null means absent", () => {
  it("accepts null for optional fields at every level (readers treat null and absent alike)", () => {
    const body = preSignup({ ip_address: null, user_id: null, city: null, connection_details: null });
    body.display_name = null;
    body.data = { user: null, organization: null };
    const result = parseInterceptorRequest(body);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const context = result.request.interceptor_context;
    for (const value of [
      context.ip_address,
      context.user_id,
      context.city,
      context.connection_details,
      result.request.display_name,
      result.request.data?.user,
      result.request.data?.organization,
    ])
      expect(value == null).toBe(true);
  });

  it("accepts data: null", () => {
    const result = parseInterceptorRequest({ ...requestFixture("PRE_SESSION_CREATION"), data: null });
    expect(result.ok && result.request.data == null).toBe(true);
  });

  it("counts a null required field as missing", () => {
    const result = parseInterceptorRequest(preSignup({ user_email: null }));
    expect(!result.ok && result.issues).toContainEqual(
      "interceptor_context.user_email: user_email is required for PRE_SIGNUP",
    );
  });
});

describe("email addresses", () => {
  it.each([
    "jane@mailinator.com",
    "john.doe+tag@acmecorp.com",
    "jürgen@bücher.de",
    "用户@例子.广告",
    "o'brien@sub.example.co.uk",
  ])("accepts %s", (email) => {
    expect(emailAddress.safeParse(email).success).toBe(true);
    expect(parseInterceptorRequest(preSignup({ user_email: email })).ok).toBe(true);
  });

  it.each([
    ["no @", "jane.mailinator.com"],
    ["two @", "jane@evil@mailinator.com"],
    ["@@", "jane@@mailinator.com"],
    ["a space", "jane doe@mailinator.com"],
    ["a leading space", " jane@mailinator.com"],
    ["a trailing newline", "jane@mailinator.com\n"],
    ["a CRLF header injection", "jane@mailinator.com\r\nBcc: x@y.z"],
    ["a tab", "jane\t@mailinator.com"],
    ["a NUL", "jane\u0000@mailinator.com"],
    ["a DEL", "jane\u007f@mailinator.com"],
    ["a non-breaking space", "jane\u00a0@mailinator.com"],
    ["a line separator", "jane@mailinator.com\u2028"],
    ["no local part", "@mailinator.com"],
    ["no domain", "jane@"],
    ["no dot in the domain", "jane@localhost"],
    ["a domain starting with a dot", "jane@.mailinator.com"],
    ["a domain ending with a dot", "jane@mailinator."],
    ["an empty domain label", "jane@b..de"],
    ["a port", "jane@mailinator.com:25"],
    ["a path", "jane@mailinator.com/x"],
    ["a fragment", "jane@mailinator.com#"],
    ["an address literal", "jane@[mailinator.com]"],
    ["an underscore in the domain", "jane@mail_inator.com"],
    ["an empty string", ""],
    ["a local part over 64 characters", `${"a".repeat(65)}@mailinator.com`],
    ["over 320 characters", `jane@${"a".repeat(320)}.com`],
  ])("rejects an address with %s", (_label, email) => {
    expect(emailAddress.safeParse(email).success).toBe(false);
    expectInvalid(preSignup({ user_email: email }), "interceptor_context.user_email");
  });
});

describe("IP addresses", () => {
  it.each([
    "198.51.100.42",
    "0.0.0.0",
    "255.255.255.255",
    "2001:db8::1",
    "::1",
    "::",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "::ffff:192.0.2.1",
    "::ffff:c000:201",
  ])("accepts %s", (ip) => {
    expect(ipAddress.safeParse(ip).success).toBe(true);
    expect(parseInterceptorRequest(preSignup({ ip_address: ip })).ok).toBe(true);
  });

  it.each([
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4/32",
    "1.2.3.4:8080",
    "[2001:db8::1]",
    "2001:db8:::1",
    "2001:db8::g",
    "::ffff:999.0.2.1",
    "localhost",
    "fe80::1%eth0",
    "",
  ])("rejects %j", (ip) => {
    expect(ipAddress.safeParse(ip).success).toBe(false);
    expectInvalid(preSignup({ ip_address: ip }), "interceptor_context.ip_address");
  });
});

describe("prototype pollution", () => {
  // JSON.parse creates "__proto__" as an own property, unlike an object literal; that is what an attacker sends.
  const hostile = (json: string) => JSON.parse(json) as unknown;

  it("neither throws nor pollutes Object.prototype for __proto__ and constructor keys at every level", () => {
    const body = hostile(`{
      "__proto__": { "polluted": "top" },
      "constructor": { "prototype": { "polluted": "ctor" } },
      "trigger_point": "PRE_SIGNUP",
      "interceptor_context": {
        "user_email": "jane@mailinator.com",
        "__proto__": { "polluted": "context", "user_id": "usr_injected" },
        "constructor": { "prototype": { "polluted": "context-ctor" } }
      },
      "data": { "__proto__": { "polluted": "data" }, "user": { "__proto__": { "polluted": "user" } } }
    }`);

    let result: ReturnType<typeof parseInterceptorRequest> | undefined;
    expect(() => {
      result = parseInterceptorRequest(body);
    }).not.toThrow();
    expect(result?.ok).toBe(true);
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    if (!result?.ok) return;
    const { request } = result;
    expect(Object.getPrototypeOf(request)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(request.interceptor_context)).toBe(Object.prototype);
    expect((request as Json).polluted).toBeUndefined();
    expect(request.interceptor_context.user_id).toBeUndefined();
    expect((request.interceptor_context as Json).polluted).toBeUndefined();
  });

  it("does not let a __proto__ object supply a required field", () => {
    const body = hostile(
      `{"trigger_point":"PRE_SIGNUP","interceptor_context":{"__proto__":{"user_email":"jane@mailinator.com"}}}`,
    );
    expect(parseInterceptorRequest(body)).toMatchObject({ ok: false, reason: "body.invalid" });
  });

  it("does not let a __proto__ object supply the trigger", () => {
    const body = hostile(
      `{"__proto__":{"trigger_point":"PRE_SIGNUP"},"interceptor_context":{"user_email":"jane@mailinator.com"}}`,
    );
    expect(parseInterceptorRequest(body)).toMatchObject({ ok: false, reason: "body.unknown_trigger" });
  });

  it.each(["__proto__", "constructor", "hasOwnProperty"])(
    "answers an unknown trigger for trigger_point %j",
    (name) => {
      const body = hostile(`{"trigger_point":"${name}","interceptor_context":{}}`);
      expect(parseInterceptorRequest(body)).toEqual({
        ok: false,
        reason: "body.unknown_trigger",
        trigger: name,
      });
      expect(Object.prototype).not.toHaveProperty("polluted");
    },
  );
});
