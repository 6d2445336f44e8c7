// Redis compacts its append-only file by forking a child that rewrites the whole dataset: on this 2-core
// machine that child takes a core from the servers under test for a second or more, and its CPU time lands
// in whichever window reaps it. Production Redis runs on its own hosts, where neither happens. So the
// benchmark's Redis rewrites only between windows (automatic rewrites off), once the file has doubled — the
// same trigger Redis uses by default — and the next window starts after the child is gone.
import type { RedisClient } from "@gatehouse/redis";

/** Redis arguments: automatic AOF rewrites off (they run between windows instead, see `rewriteIfGrown`). */
export const NO_AUTOMATIC_REWRITE = ["--auto-aof-rewrite-percentage", "0"] as const;

const MIN_REWRITE_BYTES = 64 * 1024 * 1024; // Redis' own default auto-aof-rewrite-min-size
const WAIT_TIMEOUT_MS = 120_000;

async function persistence(redis: RedisClient): Promise<Record<string, string>> {
  const text = await redis.info("persistence");
  return Object.fromEntries(
    text
      .split("\r\n")
      .filter((line) => line.includes(":"))
      .map((line) => line.split(":", 2) as [string, string]),
  );
}

/**
 * Between two windows: when the append-only file has doubled since its last rewrite (and is over 64 MB),
 * rewrites it and waits until the child has exited and been reaped. Returns the seconds it took, or
 * undefined when no rewrite was due.
 */
export async function rewriteIfGrown(redis: RedisClient): Promise<number | undefined> {
  const before = await persistence(redis);
  const current = Number(before.aof_current_size);
  const base = Number(before.aof_base_size);
  if (!(current >= MIN_REWRITE_BYTES && current >= 2 * base)) return undefined;
  const started = performance.now();
  await redis.bgrewriteaof();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const state = await persistence(redis);
    if (state.aof_rewrite_in_progress === "0" && state.aof_rewrite_scheduled === "0") break;
    if (performance.now() - started > WAIT_TIMEOUT_MS) throw new Error("AOF rewrite did not finish in 120 s");
  }
  return (performance.now() - started) / 1000;
}
