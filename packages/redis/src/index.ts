export type { Redis } from "ioredis";
export { createRedis, type RedisConnectionOptions, type RedisProfile } from "./create-redis.js";
export { ping } from "./ping.js";
