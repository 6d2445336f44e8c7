import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENRICHMENT_NAMES } from "@gatehouse/enrichments";
import { PolicyError } from "@gatehouse/policy";
import { createLogger } from "@gatehouse/telemetry";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PolicySource, type ReloadResult } from "./policy-source.js";

const policyText = (unknownTrigger: "ALLOW" | "DENY") => `version: 1\nunknownTrigger: ${unknownTrigger}\n`;

let dir: string;
let file: string;
const lines: Record<string, unknown>[] = [];
const log = createLogger({
  name: "test",
  level: "info",
  destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gh-policy-"));
  file = join(dir, "policy.yaml");
  await writeFile(file, policyText("ALLOW"));
  lines.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("PolicySource", () => {
  it("applies a valid change, ignores an unchanged file and keeps the running policy over an invalid one", async () => {
    const results: ReloadResult[] = [];
    const source = await PolicySource.fromFile(file, log, (result) => results.push(result));
    const first = source.current;
    expect(first.compiled.unknownTrigger).toBe("ALLOW");
    expect(first.version).toMatch(/^[0-9a-f]{12}$/);

    expect(await source.reload()).toBe("unchanged");
    await writeFile(file, policyText("DENY"));
    expect(await source.reload()).toBe("applied");
    expect(source.current.compiled.unknownTrigger).toBe("DENY");
    expect(source.current.version).not.toBe(first.version);

    const applied = source.current;
    await writeFile(file, "version: 1\nunknownTrigger: MAYBE\n");
    expect(await source.reload()).toBe("invalid");
    expect(source.current).toBe(applied);
    const error = lines.find(
      (line) => line.msg === "policy file is invalid; the running policy stays in force",
    );
    expect(error?.problems).toEqual([expect.stringMatching(/^line 2: unknownTrigger:/)]);

    await rm(file);
    expect(await source.reload()).toBe("invalid");
    expect(source.current).toBe(applied);
    expect(results).toEqual(["unchanged", "applied", "invalid", "invalid"]);
  });

  it("refuses to start from a missing or invalid file, naming it", async () => {
    await expect(PolicySource.fromFile(join(dir, "absent.yaml"), log)).rejects.toThrow(/absent\.yaml/);
    await writeFile(file, "version: 2\n");
    await expect(PolicySource.fromFile(file, log)).rejects.toBeInstanceOf(PolicyError);
  });

  it("refuses a fact condition on an enrichment that is not registered, at start and on reload", async () => {
    const unregistered = [
      "version: 1",
      "triggers:",
      "  PRE_SIGNUP:",
      "    rules:",
      "      - name: young-domain",
      "        when: { fact: { enrichment: no-such-enrichment, field: ageDays, atMost: 30 } }",
      "        outcome: { decision: DENY, reason: domain.young }",
      "",
    ].join("\n");
    const source = await PolicySource.fromFile(file, log);
    const running = source.current;
    await writeFile(file, unregistered);
    expect(await source.reload()).toBe("invalid");
    expect(source.current).toBe(running);
    const error = lines.find(
      (line) => line.msg === "policy file is invalid; the running policy stays in force",
    );
    expect(error?.problems).toEqual([
      'triggers.PRE_SIGNUP, rule "young-domain": no enrichment named "no-such-enrichment" is registered ' +
        `(registered: ${ENRICHMENT_NAMES.join(", ")})`,
    ]);
    await expect(PolicySource.fromFile(file, log)).rejects.toThrow(/no-such-enrichment/);
    // A registered one's field the built-in conditions do not name: accepted.
    await writeFile(
      file,
      unregistered.replace(
        "no-such-enrichment, field: ageDays, atMost: 30",
        "email-domain, field: registrable, equals: mailinator.com",
      ),
    );
    expect(await source.reload()).toBe("applied");
  });

  it("sees a file replaced by a rename, the way Kubernetes swaps a ConfigMap, while polling", async () => {
    const source = await PolicySource.fromFile(file, log);
    source.watch(20);
    try {
      const next = join(dir, "next.yaml");
      await writeFile(next, policyText("DENY"));
      await rename(next, file);
      await vi.waitFor(() => expect(source.current.compiled.unknownTrigger).toBe("DENY"), {
        timeout: 3_000,
        interval: 20,
      });
    } finally {
      source.close();
    }
  });
});
