import { describe, expect, it } from "vitest";
import { RESPONSE_FIXTURES, responseFixture } from "./fixtures.js";
import { interceptorAnswerSchema } from "./interceptor-answer.js";

describe("interceptorAnswerSchema", () => {
  it.each(RESPONSE_FIXTURES)("accepts the documented %s answer unchanged", (name) => {
    const answer = responseFixture(name);
    const result = interceptorAnswerSchema.safeParse(answer);
    expect(result.success).toBe(true);
    expect(result.data).toEqual(answer);
  });

  it("requires a decision", () => {
    expect(interceptorAnswerSchema.safeParse({}).success).toBe(false);
    expect(interceptorAnswerSchema.safeParse({ error: { message: "no" } }).success).toBe(false);
  });

  it.each(["allow", "deny", "MAYBE", "", 1, null])("rejects decision %j", (decision) => {
    expect(interceptorAnswerSchema.safeParse({ decision }).success).toBe(false);
  });

  it("requires error.message to be a string", () => {
    expect(interceptorAnswerSchema.safeParse({ decision: "DENY", error: {} }).success).toBe(false);
    expect(interceptorAnswerSchema.safeParse({ decision: "DENY", error: { message: 1 } }).success).toBe(
      false,
    );
    expect(interceptorAnswerSchema.safeParse({ decision: "DENY", error: { message: "No." } }).success).toBe(
      true,
    );
  });

  it("requires an organization for create_organization_membership", () => {
    const answer = (membership: unknown) => ({
      decision: "ALLOW",
      response: { create_organization_membership: membership },
    });
    expect(interceptorAnswerSchema.safeParse(answer({ roles: ["admin"] })).success).toBe(false);
    expect(interceptorAnswerSchema.safeParse(answer({ organization_id: "" })).success).toBe(false);
    expect(interceptorAnswerSchema.safeParse(answer({ organization_id: "org_1" })).success).toBe(true);
    expect(interceptorAnswerSchema.safeParse(answer({ external_organization_id: "ext_1" })).success).toBe(
      true,
    );
  });

  it("requires claims to be an object", () => {
    const answer = (claims: unknown) => ({ decision: "ALLOW", response: { claims } });
    expect(interceptorAnswerSchema.safeParse(answer(["a"])).success).toBe(false);
    expect(interceptorAnswerSchema.safeParse(answer("a")).success).toBe(false);
    expect(interceptorAnswerSchema.safeParse(answer({ tier: "gold", flags: ["a"] })).success).toBe(true);
  });

  it("keeps fields it does not model", () => {
    const result = interceptorAnswerSchema.safeParse({
      decision: "ALLOW",
      trace_id: "t1",
      response: { other: 1 },
    });
    expect(result.data).toEqual({ decision: "ALLOW", trace_id: "t1", response: { other: 1 } });
  });
});
