import { describe, expect, it } from "vitest";
import { REQUEST_FIXTURES, requestFixture } from "./fixtures.js";
import { isTriggerPoint, ROUTE_TRIGGERS, TRIGGER_POINTS, triggerFromSlug } from "./trigger-point.js";

describe("triggerFromSlug", () => {
  it.each([
    ["pre-signup", "PRE_SIGNUP"],
    ["pre-session-creation", "PRE_SESSION_CREATION"],
    ["pre-user-invitation", "PRE_USER_INVITATION"],
    ["pre-m2m-token-creation", "PRE_M2M_TOKEN_CREATION"],
    ["post-user-authentication", "POST_USER_AUTHENTICATION"],
  ])("maps %s to %s", (slug, trigger) => {
    expect(triggerFromSlug(slug)).toBe(trigger);
  });

  it.each(TRIGGER_POINTS)("accepts the SCREAMING_CASE name %s as is", (trigger) => {
    expect(triggerFromSlug(trigger)).toBe(trigger);
  });

  it("ignores case and surrounding whitespace, and accepts underscores", () => {
    expect(triggerFromSlug("  Pre-Signup\n")).toBe("PRE_SIGNUP");
    expect(triggerFromSlug("pre_m2m_token_creation")).toBe("PRE_M2M_TOKEN_CREATION");
  });

  it.each(["", "signup", "pre-signup-x", "pre signup", "toString", "__proto__", "constructor", "PRE_LOGOUT"])(
    "answers undefined for %j",
    (slug) => {
      expect(triggerFromSlug(slug)).toBeUndefined();
    },
  );

  it("maps every dedicated route slug to the trigger that route serves", () => {
    for (const [slug, trigger] of Object.entries(ROUTE_TRIGGERS)) expect(triggerFromSlug(slug)).toBe(trigger);
  });
});

describe("isTriggerPoint", () => {
  it("knows every trigger and nothing else", () => {
    for (const trigger of TRIGGER_POINTS) expect(isTriggerPoint(trigger)).toBe(true);
    for (const value of ["pre_signup", "toString", "", 1, null, undefined, {}])
      expect(isTriggerPoint(value)).toBe(false);
  });

  it("has a fixture for every trigger", () => {
    const covered = new Set(REQUEST_FIXTURES.map((name) => requestFixture(name).trigger_point));
    expect([...covered].sort()).toEqual([...TRIGGER_POINTS].sort());
  });
});

describe("ROUTE_TRIGGERS", () => {
  it("gives every released trigger a dedicated route and leaves POST_USER_AUTHENTICATION to the generic one", () => {
    expect(Object.values(ROUTE_TRIGGERS).sort()).toEqual(
      TRIGGER_POINTS.filter((trigger) => trigger !== "POST_USER_AUTHENTICATION").sort(),
    );
  });
});
