import { parseInterceptorRequest, TRIGGER_POINTS, type TriggerPoint } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { buildRequestBody, fixtureFor, TEST_MARKER } from "./build-request.js";

type Fields = Record<string, unknown>;

/** The parts of a built body these tests read. */
interface Body {
  interceptor_context: Fields;
  data: { user?: Fields; organization?: Fields; m2m_token_claims: { client_id?: unknown; claims: Fields } };
}

const build = (...args: Parameters<typeof buildRequestBody>) => buildRequestBody(...args) as unknown as Body;

function parsed(body: object) {
  const result = parseInterceptorRequest(JSON.parse(JSON.stringify(body)));
  if (!result.ok) throw new Error(`does not parse: ${JSON.stringify(result)}`);
  return result.request;
}

describe("buildRequestBody", () => {
  it.each(TRIGGER_POINTS)("builds a valid %s body from its documented fixture", (trigger) => {
    const body = buildRequestBody(trigger);
    expect(body.trigger_point).toBe(trigger);
    expect(parsed(body).trigger_point).toBe(trigger);
  });

  it("starts PRE_SIGNUP from the brand-new user (no user_id, no data.user)", () => {
    expect(fixtureFor("PRE_SIGNUP")).toBe("PRE_SIGNUP_NEW_USER");
    const body = build("PRE_SIGNUP");
    expect(body.interceptor_context.user_email).toBe("jane@mailinator.com");
    expect(body.interceptor_context.user_id).toBeUndefined();
    expect(body.data.user).toBeUndefined();
  });

  it("marks the body as a test request, at the top level", () => {
    expect(buildRequestBody("PRE_SESSION_CREATION")[TEST_MARKER]).toBe(true);
    expect(TEST_MARKER in buildRequestBody("PRE_SESSION_CREATION", {}, { test: false })).toBe(false);
  });

  it("writes a fresh triggered_at", () => {
    const now = new Date("2030-01-02T03:04:05.678Z");
    const body = build("PRE_USER_INVITATION", {}, { now });
    expect(body.interceptor_context.triggered_at).toBe("2030-01-02T03:04:05.678Z");
    const recent = Date.parse(String(build("PRE_USER_INVITATION").interceptor_context.triggered_at));
    expect(Math.abs(Date.now() - recent)).toBeLessThan(5_000);
  });

  it("--email sets user_email, and data.user.email where the body has a user", () => {
    const signup = build("PRE_SIGNUP", { email: "jürgen@bücher.de" });
    expect(signup.interceptor_context.user_email).toBe("jürgen@bücher.de");
    expect(signup.data.user).toBeUndefined();
    expect(parsed(signup).interceptor_context.user_email).toBe("jürgen@bücher.de");

    const session = build("PRE_SESSION_CREATION", { email: "bob@example.com" });
    expect(session.interceptor_context.user_email).toBe("bob@example.com");
    expect(session.data.user?.email).toBe("bob@example.com");
    expect(parsed(session).interceptor_context.user_email).toBe("bob@example.com");
  });

  it("--ip sets ip_address, also where the fixture has none", () => {
    const signup = build("PRE_SIGNUP", { ip: "2001:db8::7" });
    expect(parsed(signup).interceptor_context.ip_address).toBe("2001:db8::7");
    const m2m = build("PRE_M2M_TOKEN_CREATION", { ip: "192.0.2.9" });
    expect(parsed(m2m).interceptor_context.ip_address).toBe("192.0.2.9");
  });

  it("--org sets organization_id, and data.organization.id for invitations", () => {
    const invitation = build("PRE_USER_INVITATION", { org: "org_x" });
    expect(invitation.interceptor_context.organization_id).toBe("org_x");
    expect(invitation.data.organization).toEqual({ id: "org_x", name: "Acme Corp" });
    expect(parsed(invitation).interceptor_context.organization_id).toBe("org_x");

    const session = build("PRE_SESSION_CREATION", { org: "org_y" });
    expect(parsed(session).interceptor_context.organization_id).toBe("org_y");
    expect(session.data.organization).toBeUndefined();
  });

  it("--user sets user_id, and data.user.id where the body has a user", () => {
    const session = build("PRE_SESSION_CREATION", { user: "usr_x" });
    expect(parsed(session).interceptor_context.user_id).toBe("usr_x");
    expect(session.data.user?.id).toBe("usr_x");

    const signup = build("PRE_SIGNUP", { user: "usr_y" });
    expect(parsed(signup).interceptor_context.user_id).toBe("usr_y");
  });

  it("--client sets client_id and data.m2m_token_claims.client_id", () => {
    const m2m = build("PRE_M2M_TOKEN_CREATION", { client: "m2m_x" });
    const request = parsed(m2m);
    expect(request.interceptor_context.client_id).toBe("m2m_x");
    expect(request.data?.m2m_token_claims?.client_id).toBe("m2m_x");
    // The rest of the documented claims stay as they were.
    expect(m2m.data.m2m_token_claims.claims.oid).toBe("org_89669394174574792");
  });

  it("applies every flag at once and still parses, for every trigger", () => {
    const overrides = {
      email: "a@b.co",
      ip: "::ffff:198.51.100.1",
      org: "org_1",
      user: "usr_1",
      client: "m2m_1",
    };
    for (const trigger of TRIGGER_POINTS) {
      const context = parsed(buildRequestBody(trigger, overrides)).interceptor_context;
      expect(context).toMatchObject({
        user_email: "a@b.co",
        ip_address: "::ffff:198.51.100.1",
        organization_id: "org_1",
        user_id: "usr_1",
        client_id: "m2m_1",
      });
    }
  });

  it("leaves the flags' fields alone when they are not given", () => {
    const body = build("PRE_SESSION_CREATION", { email: undefined });
    expect(body.interceptor_context.user_email).toBe("john.doe@acmecorp.com");
    expect(body.interceptor_context.user_id).toBe("usr_93418238346728951");
  });

  it("starts from --body instead of the fixture, without changing the caller's object", () => {
    const base = { trigger_point: "PRE_SIGNUP", interceptor_context: { user_email: "x@y.zz" }, custom: [1] };
    const body = build("PRE_SIGNUP", { ip: "1.2.3.4" }, { base });
    expect(body).toMatchObject({
      custom: [1],
      interceptor_context: { user_email: "x@y.zz", ip_address: "1.2.3.4" },
    });
    expect(base.interceptor_context).toEqual({ user_email: "x@y.zz" });
    expect(parsed(body).trigger_point).toBe("PRE_SIGNUP");
  });

  it("does not invent an interceptor_context for a --body without one, unless a flag needs it", () => {
    const base = { trigger_point: "PRE_SIGNUP" };
    expect(buildRequestBody("PRE_SIGNUP", {}, { base })).toEqual({
      trigger_point: "PRE_SIGNUP",
      gatehouse_test: true,
    });
    const withEmail = build("PRE_SIGNUP", { email: "a@b.co" }, { base });
    expect(withEmail.interceptor_context.user_email).toBe("a@b.co");
  });

  it("returns independent bodies", () => {
    const trigger: TriggerPoint = "PRE_SESSION_CREATION";
    const first = build(trigger, { user: "usr_first" });
    const second = build(trigger);
    expect(first.interceptor_context.user_id).toBe("usr_first");
    expect(second.interceptor_context.user_id).toBe("usr_93418238346728951");
  });
});
