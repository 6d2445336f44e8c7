import { randomUUID } from "node:crypto";
import type { Redis } from "@gatehouse/redis";
import { afterEach } from "vitest";

/**
 * Fresh key prefixes for a test file's tests (`<letter><8 hex>`): each test isolates its keys under its own,
 * and they are deleted from `redis` after it.
 */
export function testPrefixes(redis: Redis, letter: string): () => string {
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });
  return () => {
    const prefix = `${letter}${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    return prefix;
  };
}
