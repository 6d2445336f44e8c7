export {
  type AfterReplyEntry,
  AfterReplyWriter,
  type AfterReplyWriterOptions,
} from "./after-reply-writer.js";
export { type CacheRead, DecisionCache, type DecisionCacheOptions } from "./decision-cache.js";
export { FactAnnouncements, type FactAnnouncementsOptions } from "./fact-announcements.js";
export { decodeFact, encodeFact, type FactRecord } from "./fact-record.js";
export { writeFact, writeFacts } from "./fact-writer.js";
export { type CacheKeys, cacheKeys, type TeamFactKind } from "./keys.js";
export { LocalFacts, type LocalFactsOptions } from "./local-facts.js";
export {
  decodeTeamFact,
  encodeTeamFact,
  type OrganizationFact,
  type StoredTeamFact,
  TEAM_ALLOWED_DOMAINS_MAX,
  TEAM_CLAIMS_MAX_BYTES,
  TEAM_FACT_BATCH,
  TEAM_FACT_ID_MAX,
  TEAM_FACT_KINDS,
  type TeamFact,
  type TeamFactEntry,
  TeamFactStore,
  type TeamFactsByKind,
  type TeamFactWriteOptions,
  teamFactIdSchema,
  teamFactSchemas,
  type UserFact,
} from "./team-facts.js";
export { type CounterKeys, counterKeys, slidingCount } from "./velocity-counter.js";
export { announcePresence, WorkerPresence } from "./worker-presence.js";
