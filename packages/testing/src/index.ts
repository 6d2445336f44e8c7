export { capturedLog } from "./captured-log.js";
export { cleanupsAfterEach } from "./cleanups-after-each.js";
export { testRedis } from "./test-redis.js";
