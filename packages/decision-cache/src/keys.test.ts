import { describe, expect, it } from "vitest";
import { cacheKeys } from "./keys.js";

describe("cacheKeys", () => {
  it("defaults to the gh prefix and versions every key with v1", () => {
    const keys = cacheKeys();
    expect(keys.prefix).toBe("gh");
    expect(keys.fact("email-domain", 1, "example.com")).toBe("gh:v1:fact:email-domain.v1:example.com");
    expect(keys.idempotency("ic_123")).toBe("gh:v1:answer:ic_123");
    expect(keys.warmMarker("email-domain", 2)).toBe("gh:v1:warm:email-domain.v2");
    expect(keys.workerPresence("email-domain")).toBe("gh:v1:workers:email-domain");
    expect(keys.workerRan("email-domain")).toBe("gh:v1:workers-ran:email-domain");
    expect(keys.auditStream).toBe("gh:v1:audit");
    expect(keys.testAuditStream).toBe("gh:v1:audit:test");
    expect(keys.announceChannel).toBe("gh:v1:announce");
  });

  it("puts every key of a custom prefix under <prefix>:v1:, and none under another prefix", () => {
    const keys = cacheKeys("tenant-a");
    const all = [
      keys.fact("ip-reputation", 3, "203.0.113.7"),
      keys.idempotency("x"),
      keys.warmMarker("ip-reputation", 3),
      keys.workerPresence("ip-reputation"),
      keys.workerRan("ip-reputation"),
      keys.auditStream,
      keys.testAuditStream,
      keys.announceChannel,
    ];
    for (const key of all) expect(key.startsWith("tenant-a:v1:")).toBe(true);
    expect(keys.fact("ip-reputation", 3, "203.0.113.7")).toBe(
      "tenant-a:v1:fact:ip-reputation.v3:203.0.113.7",
    );
    expect(new Set(all).size).toBe(all.length);
  });

  it("keys a fact by enrichment version: a version bump never reads the old fact", () => {
    const keys = cacheKeys();
    expect(keys.fact("email-domain", 1, "a.test")).not.toBe(keys.fact("email-domain", 2, "a.test"));
    expect(keys.fact("email-domain", 1, "a.test")).not.toBe(keys.fact("ip-reputation", 1, "a.test"));
  });
});
