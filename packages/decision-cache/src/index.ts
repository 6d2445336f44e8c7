export {
  type AfterReplyEntry,
  AfterReplyWriter,
  type AfterReplyWriterOptions,
} from "./after-reply-writer.js";
export { type CacheRead, DecisionCache, type DecisionCacheOptions } from "./decision-cache.js";
export { FactAnnouncements } from "./fact-announcements.js";
export { decodeFact, encodeFact, type FactRecord } from "./fact-record.js";
export { writeFact, writeFacts } from "./fact-writer.js";
export { type CacheKeys, cacheKeys, type TeamFactKind } from "./keys.js";
