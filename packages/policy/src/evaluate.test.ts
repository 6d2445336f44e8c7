import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "./default-policy.js";
import { evaluate } from "./evaluate.js";
import { factNeeds } from "./fact-needs.js";
import type { PolicyFacts } from "./facts.js";
import { policySchema } from "./policy-schema.js";

const email = (over: Partial<NonNullable<PolicyFacts["email-domain"]>> = {}) => ({
  "email-domain": {
    domain: "acme.test",
    registrable: "acme.test",
    disposable: false,
    freeMail: false,
    mx: "present" as const,
    ...over,
  },
});
const signup = DEFAULT_POLICY.triggers.PRE_SIGNUP!;

describe("evaluate", () => {
  it("denies a disposable domain with the user-facing message and the internal reason", () => {
    const result = evaluate(signup, email({ disposable: true }));
    expect(result.reason).toBe("email.disposable");
    expect(result.rule).toBe("disposable-email");
    expect(result.answer.decision).toBe("DENY");
    expect(result.answer.error?.message).toMatch(/disposable/);
  });

  it("denies a listed IP, and allows by default", () => {
    expect(
      evaluate(signup, {
        ...email(),
        "ip-reputation": {
          lists: ["drop"],
          listed: true,
          range: "unicast",
          asn: null,
          asOrganization: null,
          country: null,
          anonymous: null,
          hosting: null,
        },
      }).reason,
    ).toBe("ip.blocklisted");
    expect(evaluate(signup, email())).toEqual({ answer: { decision: "ALLOW" }, reason: "policy.default" });
  });

  it("treats a missing fact as matching nothing", () => {
    expect(evaluate(signup, {}).answer.decision).toBe("ALLOW");
  });

  it("merges cached and static claims, static winning", () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SESSION_CREATION: { default: { decision: "ALLOW", cachedClaims: true, claims: { tier: "pro" } } },
      },
    }).triggers.PRE_SESSION_CREATION!;
    const result = evaluate(policy, { "user-claims": { claims: { tier: "free", region: "eu" } } });
    expect(result.answer).toEqual({ decision: "ALLOW", response: { claims: { tier: "pro", region: "eu" } } });
  });

  it("combines conditions with all / any / not and matches registrable domains in lists", () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [
            {
              name: "corp-only",
              when: {
                not: {
                  any: [
                    { emailDomain: { in: ["Acme.test"] } },
                    { all: [{ emailDomain: { freeMail: true } }, { ip: { lists: ["vpn"] } }] },
                  ],
                },
              },
              outcome: { decision: "DENY", reason: "corp.only" },
            },
          ],
        },
      },
    }).triggers.PRE_SIGNUP!;
    expect(
      evaluate(policy, email({ domain: "eu.acme.test", registrable: "acme.test" })).answer.decision,
    ).toBe("ALLOW");
    expect(evaluate(policy, email({ domain: "other.test", registrable: "other.test" })).reason).toBe(
      "corp.only",
    );
    expect(
      evaluate(policy, {
        ...email({ domain: "gmail.com", registrable: "gmail.com", freeMail: true }),
        "ip-reputation": {
          lists: ["vpn"],
          listed: true,
          range: "unicast",
          asn: null,
          asOrganization: null,
          country: null,
          anonymous: null,
          hosting: null,
        },
      }).answer.decision,
    ).toBe("ALLOW");
  });
});

describe("factNeeds", () => {
  it("reads exactly the facts each trigger's policy uses", () => {
    const needs = factNeeds(DEFAULT_POLICY);
    expect(new Set(needs.get("PRE_SIGNUP"))).toEqual(new Set(["email-domain", "ip-reputation"]));
    expect(needs.get("PRE_SESSION_CREATION")).toEqual(["user-claims"]);
    expect(needs.get("PRE_M2M_TOKEN_CREATION")).toEqual([]);
  });
});
