import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { policySchema } from "@gatehouse/policy";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { expect, vi } from "vitest";
import type { TsProcess } from "./child-process.js";

/** Throws with the process' output if it has exited: a dead process should fail the wait at once. */
export function assertAlive(child: TsProcess | undefined, name: string): void {
  if (child?.child.exitCode !== null || child.child.signalCode !== null) {
    throw new Error(`${name} exited early:\n${child?.output()}`);
  }
}

/**
 * Waits until the ingress answers /readyz with 200 and a worker listens on each enrichment's queue (the
 * worker warms its lists before it listens).
 */
export async function waitUntilServing(options: {
  ingress: TsProcess | undefined;
  worker: TsProcess | undefined;
  url: string;
  redis: Redis;
  prefix: string;
  enrichments: readonly string[];
}): Promise<void> {
  await vi.waitFor(
    async () => {
      assertAlive(options.ingress, "ingress");
      const response = await fetch(`${options.url}/readyz`).catch(() => undefined);
      expect(response?.status).toBe(200);
    },
    { timeout: 20_000, interval: 100 },
  );
  const queues = options.enrichments.map(
    (name) => new Queue(`enrich.${name}`, { connection: options.redis, prefix: bullPrefix(options.prefix) }),
  );
  try {
    await vi.waitFor(
      async () => {
        assertAlive(options.worker, "worker");
        for (const queue of queues) expect(await queue.getWorkersCount()).toBeGreaterThan(0);
      },
      { timeout: 20_000, interval: 100 },
    );
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

/**
 * PRE_SIGNUP denies disposable domains with a message, waits 300 ms on a miss, and fails closed: a
 * fallback (DENY without a message) is told apart from a policy answer.
 */
export const FAIL_CLOSED_SIGNUP_POLICY = policySchema.parse({
  version: 1,
  triggers: {
    PRE_SIGNUP: {
      rules: [
        {
          name: "disposable-email",
          when: { emailDomain: { disposable: true } },
          outcome: { decision: "DENY", reason: "email.disposable", message: "No disposable addresses." },
        },
      ],
      onMiss: { waitMs: 300, afterWait: "evaluate" },
      fallback: "DENY",
    },
  },
});
