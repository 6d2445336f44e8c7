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

  it("names the line of cross-references that do not hold: lists, CIDR blocks, domains, rule names, durations", () => {
    const text = [
      "version: 1", // 1
      "lists:", // 2
      "  office: [10.0.0.0/8, not-an-ip]", // 3
      "triggers:", // 4
      "  PRE_SIGNUP:", // 5
      "    rules:", // 6
      "      - name: a", // 7
      "        when: { ip: { inList: office } }", // 8
      "        outcome: { decision: DENY, reason: x }", // 9
      "      - name: a", // 10
      "        when: { emailDomain: { inList: partners } }", // 11
      "        outcome: { decision: DENY, reason: x }", // 12
      "      - name: c", // 13
      "        when: { ip: { in: [300.1.1.1/8] } }", // 14
      "        outcome: { decision: DENY, reason: x }", // 15
    ].join("\n");
    let error: PolicyError | undefined;
    try {
      parsePolicy(text, "p.yaml");
    } catch (caught) {
      error = caught as PolicyError;
    }
    const problems = error?.problems ?? [];
    const expected = [
      /^line 3: lists\.office\.1: "not-an-ip" is not an IP address or CIDR block/,
      /^line 10: triggers\.PRE_SIGNUP\.rules\.1\.name: another rule is named "a"/,
      /^line 11: triggers\.PRE_SIGNUP\.rules\.1\.when\.emailDomain\.inList: no list named "partners"/,
      /^line 14: triggers\.PRE_SIGNUP\.rules\.2\.when\.ip\.in\.0: "300\.1\.1\.1\/8" is not/,
    ];
    for (const pattern of expected)
      expect(problems, pattern.source).toContainEqual(expect.stringMatching(pattern));
  });

  it("reports a bad CIDR block in a rule once the rest of the file is valid", () => {
    const text =
      "version: 1\ntriggers:\n  PRE_SIGNUP:\n    rules:\n      - name: c\n        when: { ip: { in: [300.1.1.1/8] } }\n        outcome: { decision: DENY, reason: x }\n";
    expect(() => parsePolicy(text, "p.yaml")).toThrow(
      /line 6: triggers\.PRE_SIGNUP\.rules\.0\.when\.ip\.in\.0: "300\.1\.1\.1\/8" is not/,
    );
  });
});
