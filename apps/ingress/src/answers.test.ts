import { type InterceptorAnswer, interceptorAnswerSchema } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { bare, unreadable, unverified, verdict } from "./answers.js";

const parsed = (json: string) => {
  const result = interceptorAnswerSchema.safeParse(JSON.parse(json));
  expect(result.success).toBe(true);
  return result.data;
};

describe("answers", () => {
  it("unverified: a valid DENY with a generic message, the reason kept apart", () => {
    const v = unverified("signature.too_old");
    expect(parsed(v.json)).toEqual({
      decision: "DENY",
      error: { message: "This request could not be verified." },
    });
    expect(v).toMatchObject({ decision: "DENY", reason: "signature.too_old" });
    expect(v.json).not.toContain("signature.too_old");
  });

  it("unreadable: a valid DENY with another generic message", () => {
    const v = unreadable("body.invalid");
    expect(parsed(v.json)).toEqual({
      decision: "DENY",
      error: { message: "This request could not be processed." },
    });
    expect(v).toMatchObject({ decision: "DENY", reason: "body.invalid" });
  });

  it("bare: a valid answer with the decision only", () => {
    const allow = bare("ALLOW", "fallback.open");
    const deny = bare("DENY", "cache.unavailable");
    expect(parsed(allow.json)).toEqual({ decision: "ALLOW" });
    expect(parsed(deny.json)).toEqual({ decision: "DENY" });
    expect(allow).toEqual({ json: '{"decision":"ALLOW"}', decision: "ALLOW", reason: "fallback.open" });
    expect(deny).toEqual({ json: '{"decision":"DENY"}', decision: "DENY", reason: "cache.unavailable" });
  });

  it("verdict: serializes the answer once, and keeps the reason and rule", () => {
    const answer: InterceptorAnswer = {
      decision: "ALLOW",
      response: {
        claims: { plan: "pro" },
        create_organization_membership: { organization_id: "org_1", roles: ["member"] },
      },
    };
    const v = verdict(answer, "policy.rule", "provision-acme");
    expect(parsed(v.json)).toEqual(answer);
    expect(v).toEqual({
      json: JSON.stringify(answer),
      decision: "ALLOW",
      reason: "policy.rule",
      rule: "provision-acme",
    });
  });

  it("verdict: a bare decision is the same JSON as serializing it, and anything more is serialized whole", () => {
    for (const decision of ["ALLOW", "DENY"] as const) {
      expect(verdict({ decision }, "r").json).toBe(JSON.stringify({ decision }));
    }
    const more = { decision: "ALLOW", note: "kept" } as InterceptorAnswer;
    expect(verdict(more, "r").json).toBe('{"decision":"ALLOW","note":"kept"}');
    expect(verdict({ decision: "DENY", error: { message: "No." } }, "r").json).toBe(
      '{"decision":"DENY","error":{"message":"No."}}',
    );
  });

  it("verdict: its rule is undefined without a rule, or with an empty one", () => {
    const v = verdict({ decision: "DENY", error: { message: "Use your work address." } }, "policy.default");
    expect(v).toEqual({
      json: '{"decision":"DENY","error":{"message":"Use your work address."}}',
      decision: "DENY",
      reason: "policy.default",
    });
    expect(v.rule).toBeUndefined();
    expect(verdict({ decision: "ALLOW" }, "r", "").rule).toBeUndefined();
  });
});
