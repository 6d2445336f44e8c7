import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createRedis } from "./create-redis.js";
import { getMany } from "./get-many.js";
import { whenReady } from "./when-ready.js";

const redis = createRedis({ url: inject("redisUrl") }, "background");
const prefix = `test:get-many:${randomUUID()}:`;
beforeAll(async () => {
  await whenReady(redis);
});
afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(keys);
});
afterAll(() => redis.disconnect());

/** How often Redis has run GET and MGET so far. */
async function calls(): Promise<{ get: number; mget: number }> {
  const stats = await redis.info("commandstats");
  const count = (command: string) =>
    Number(stats.match(new RegExp(`cmdstat_${command}:calls=(\\d+)`))?.[1] ?? 0);
  return { get: count("get"), mget: count("mget") };
}

describe("getMany", () => {
  it("reads the keys' values in order, null where a key holds none or holds another type", async () => {
    await redis.set(`${prefix}a`, "1");
    await redis.set(`${prefix}c`, "héllo");
    await redis.rpush(`${prefix}list`, "x");
    expect(await getMany(redis, [`${prefix}c`, `${prefix}missing`, `${prefix}a`, `${prefix}list`])).toEqual([
      "héllo",
      null,
      "1",
      null,
    ]);
  });

  it("sends one MGET for many keys, and nothing for none", async () => {
    const keys = Array.from({ length: 50 }, (_, index) => `${prefix}k${index}`);
    await redis.mset(keys.flatMap((key, index) => [key, String(index)]));
    const before = await calls();
    expect(await getMany(redis, keys)).toEqual(keys.map((_, index) => String(index)));
    expect(await getMany(redis, [])).toEqual([]);
    const after = await calls();
    expect({ get: after.get - before.get, mget: after.mget - before.mget }).toEqual({ get: 0, mget: 1 });
  });
});
