import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineEnrichment } from "./define-enrichment.js";
import { bullPrefix, jobName, queueName } from "./queue-names.js";

const enrichment = (name: string, version: number) =>
  defineEnrichment({
    name,
    version,
    input: z.object({}),
    fact: z.object({}),
    fromRequest: () => undefined,
    subject: () => "s",
    settings: z.object({}),
    setup: () => ({ run: async () => ({}) }),
  });

describe("queue names", () => {
  it("has one queue per enrichment, whatever its version", () => {
    expect(queueName(enrichment("email-domain", 1))).toBe("enrich.email-domain");
    expect(queueName(enrichment("email-domain", 7))).toBe("enrich.email-domain");
    expect(queueName(enrichment("ip-reputation", 1))).toBe("enrich.ip-reputation");
  });

  it("versions job names", () => {
    expect(jobName(enrichment("email-domain", 1))).toBe("enrich.email-domain.v1");
    expect(jobName(enrichment("user-claims", 12))).toBe("enrich.user-claims.v12");
  });

  it("puts BullMQ's keys under Gatehouse's prefix, in one Redis Cluster hash slot", () => {
    expect(bullPrefix("gh")).toBe("gh:{bull}");
    expect(bullPrefix("t1234abcd")).toBe("t1234abcd:{bull}");
  });
});
