import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "./default-policy.js";
import { PolicyError } from "./errors/policy-error.js";
import { loadPolicyFile, parsePolicy } from "./load-policy.js";

describe("policy files", () => {
  it("ships infra/policy/default.yaml equal to the built-in default policy", async () => {
    const file = fileURLToPath(new URL("../../../infra/policy/default.yaml", import.meta.url));
    expect(await loadPolicyFile(file)).toEqual(DEFAULT_POLICY);
  });

  it("names the line and the field of every problem", () => {
    const text = [
      "version: 1",
      "triggers:",
      "  PRE_SIGNUP:",
      "    fallback: MAYBE",
      "    onMiss: { waitMs: -1 }",
    ].join("\n");
    let error: PolicyError | undefined;
    try {
      parsePolicy(text, "p.yaml");
    } catch (caught) {
      error = caught as PolicyError;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect(error?.problems.some((p) => p.startsWith("line 4: triggers.PRE_SIGNUP.fallback:"))).toBe(true);
    expect(error?.problems.some((p) => p.startsWith("line 5: triggers.PRE_SIGNUP.onMiss.waitMs:"))).toBe(
      true,
    );
  });

  it("rejects YAML syntax errors and unknown fields with a line", () => {
    expect(() => parsePolicy("version: 1\ntriggers: [", "p.yaml")).toThrow(/line \d+/);
    expect(() => parsePolicy("version: 1\nunknownThing: true\n", "p.yaml")).toThrow(
      /line 1: \(top level\)|unknownThing/,
    );
  });

  it("accepts JSON", () => {
    expect(parsePolicy('{"version": 1}').unknownTrigger).toBe("ALLOW");
  });
});
