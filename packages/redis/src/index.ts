export type { Cluster, Redis } from "ioredis";
export { closeClient } from "./close-client.js";
export { clusterNodeProblem } from "./cluster-node-problem.js";
export {
  createRedis,
  isCluster,
  type RedisClient,
  type RedisConnectionOptions,
  type RedisProfile,
} from "./create-redis.js";
export { getMany } from "./get-many.js";
export { logConnectionErrors, type WarnLogger } from "./log-connection-errors.js";
export {
  type NodeListConnection,
  nodeListConnection,
  nodeListDisplay,
  parseNodeList,
} from "./node-list.js";
export { answerWithin, ping } from "./ping.js";
export { checkRedisEnv, type RedisTarget, redisEnvShape, redisTarget } from "./redis-env.js";
export { type Command, sendBatch } from "./send-batch.js";
export { whenReady } from "./when-ready.js";
