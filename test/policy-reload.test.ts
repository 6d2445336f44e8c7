import { randomUUID } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { body, send, testEnv, testIngress } from "./support/ingress-harness.js";

const redisUrl = inject("redisUrl");

/** PRE_SIGNUP denies the regions given, by a rule named after them; nothing else is read. */
const denyRegions = (regions: string[]) => `version: 1
triggers:
  PRE_SIGNUP:
    rules:
      - name: block-${regions.join("-").toLowerCase()}
        when: { location: { region: [${regions.join(", ")}] } }
        outcome: { decision: DENY, reason: region.blocked, message: Not available in your region. }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gh-reload-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("policy hot reload in the ingress", () => {
  it("applies a changed file without a restart and without failing a request in flight", async () => {
    const file = join(dir, "policy.yaml");
    await writeFile(file, denyRegions(["XX"]));
    const app = await testIngress(
      testEnv(redisUrl, { GATEHOUSE_POLICY: file, GATEHOUSE_POLICY_POLL_MS: "20" }),
    );
    try {
      const us = body("PRE_SIGNUP_NEW_USER", { region: "US" });
      expect((await send(app, "/pre-signup", us)).answer).toEqual({ decision: "ALLOW" });

      // Requests keep flowing while the file is replaced (write elsewhere, rename over: atomic, like a ConfigMap).
      let swapped = false;
      const traffic = (async () => {
        const answers: string[] = [];
        for (let i = 0; i < 400 && !(swapped && answers.at(-1) === "DENY"); i++) {
          const sent = await send(app, "/pre-signup", us, { id: `ic_${randomUUID()}` });
          expect(sent.status).toBe(200);
          answers.push(sent.answer.decision);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return answers;
      })();
      const next = join(dir, "next.yaml");
      await writeFile(next, denyRegions(["US", "CA"]));
      await rename(next, file);
      swapped = true;
      const answers = await traffic;
      // Every answer is one policy's or the other's — ALLOW until the swap, DENY after — never an error.
      expect(answers.at(-1)).toBe("DENY");
      expect(answers.slice(answers.indexOf("DENY"))).not.toContain("ALLOW");

      const denied = await send(app, "/pre-signup", us);
      expect(denied.answer).toEqual({
        decision: "DENY",
        error: { message: "Not available in your region." },
      });

      // A broken file is refused; the running policy stays.
      await writeFile(file, "version: 1\ntriggers:\n  PRE_SIGNUP:\n    rules: [{ name: x }]\n");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await send(app, "/pre-signup", us)).answer.decision).toBe("DENY");
      const metrics = await app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).toMatch(/gatehouse_policy_reloads_total\{result="applied"\} 1/);
      expect(metrics.body).toMatch(/gatehouse_policy_reloads_total\{result="invalid"\} [1-9]/);
    } finally {
      await app.close();
    }
  });
});
