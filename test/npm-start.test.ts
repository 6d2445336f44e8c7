import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, expect, inject, it } from "vitest";
import { ROOT } from "./support/child-process.js";
import { SECRET } from "./support/ingress-harness.js";
import { freePort } from "./support/redis-server.js";

// `npm start` under a supervisor (a service manager, `timeout`, a CI step) gets SIGTERM on npm's process
// alone, not on the whole process group as Ctrl-C does: npm passes it to the script's shell, and the shell
// does not pass it on. The script `exec`s scripts/start.ts so that the signal reaches it, and it stops what
// it started.

const redisUrl = inject("redisUrl");
// The key prefix doubles as a mark on every process this test starts: they all inherit it.
const prefix = `npmstart${randomUUID().slice(0, 8)}`;

/** The processes whose environment carries this test's prefix: npm, start.ts, the ingress, the worker. */
function marked(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.includes(`GATEHOUSE_KEY_PREFIX=${prefix}\0`)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

afterAll(() => {
  for (const pid of marked()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
});

it("stops the ingress and the worker when npm alone gets SIGTERM", async () => {
  const port = await freePort();
  const npm = spawn("npm", ["start", "--silent"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      REDIS_URL: redisUrl,
      SCALEKIT_INTERCEPTOR_SECRET: SECRET,
      GATEHOUSE_KEY_PREFIX: prefix,
      GATEHOUSE_WARM: "false",
      PORT: String(port),
      GATEHOUSE_WORKER_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));

  const until = Date.now() + 60_000;
  while (!output.includes("Gatehouse is running.") && Date.now() < until) await sleep(200);
  expect(output).toContain("Gatehouse is running.");
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(ready.status).toBe(200);
  // npm, its shell or start.ts, and the ingress and the worker (each under tsx: a process and its node).
  expect(marked().length).toBeGreaterThanOrEqual(4);

  npm.kill("SIGTERM");
  await exited;
  const stopBy = Date.now() + 30_000;
  while (marked().length > 0 && Date.now() < stopBy) await sleep(200);
  expect(marked(), output).toEqual([]);
  const refused = await fetch(`http://127.0.0.1:${port}/readyz`).then(
    () => false,
    () => true,
  );
  expect(refused).toBe(true);
}, 120_000);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
