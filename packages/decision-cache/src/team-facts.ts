import { domainToASCII } from "node:url";
import { type Command, type RedisClient, sendBatch } from "@gatehouse/redis";
import { z } from "zod";
import type { CacheKeys, TeamFactKind } from "./keys.js";

/**
 * Facts the team writes about its organizations and users (admin API, `gatehouse facts load`), read by the
 * policy: allowed email domains and member count of an organization, extra session claims of a user.
 * Stored as JSON `{ ...fact, updatedAt }` at `cacheKeys().team(kind, id)`, without a TTL unless one is asked
 * for: the team owns this data, and deleting it is explicit.
 */

/** Largest `claims` object of a user, as serialized JSON (UTF-8 bytes). */
export const TEAM_CLAIMS_MAX_BYTES = 8_192;
/** Most allowed domains of one organization. */
export const TEAM_ALLOWED_DOMAINS_MAX = 1_000;
/** Longest organization or user id. */
export const TEAM_FACT_ID_MAX = 256;

export const TEAM_FACT_KINDS: readonly TeamFactKind[] = ["organization", "user"];

// RFC 1123 labels, ASCII (IDNs arrive here already as punycode), at most 253 characters in all.
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An organization or user id: 1–256 characters, no control characters. */
export const teamFactIdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(TEAM_FACT_ID_MAX, `must be at most ${TEAM_FACT_ID_MAX} characters`)
  .regex(/^\P{Cc}*$/u, "must not contain control characters");

/** The way the policy compares domains: trimmed, no trailing dot, lower case, IDNs as punycode. */
const allowedDomainSchema = z
  .string()
  .transform((value) => {
    const trimmed = value.trim().replace(/\.$/, "");
    return trimmed === "" ? "" : domainToASCII(trimmed);
  })
  .refine((domain) => HOST_NAME.test(domain), "must be a host name, e.g. example.com");

const claimsSchema = z
  .record(z.string(), z.unknown())
  .refine(
    (claims) => Buffer.byteLength(JSON.stringify(claims)) <= TEAM_CLAIMS_MAX_BYTES,
    `must be at most ${TEAM_CLAIMS_MAX_BYTES} bytes as JSON`,
  );

const organizationShape = {
  /** Members the organization has now; the policy compares it with a limit. */
  memberCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Email domains whose users may be invited; subdomains are covered by their parent (policy's rule). */
  allowedDomains: z
    .array(allowedDomainSchema)
    .max(TEAM_ALLOWED_DOMAINS_MAX)
    .transform((domains) => [...new Set(domains)])
    .optional(),
  /** The team's own id for the organization (informational). */
  externalId: z.string().max(TEAM_FACT_ID_MAX).optional(),
};

const userShape = {
  /** Claims added to the user's session tokens by a policy outcome with `teamClaims: true`. */
  claims: claimsSchema.optional(),
};

/** What the team may write: unknown fields are refused, so a typo (`membercount`) is an error, not a no-op. */
export const teamFactSchemas = {
  organization: z.strictObject(organizationShape),
  user: z.strictObject(userShape),
} as const;

export type OrganizationFact = z.output<typeof teamFactSchemas.organization>;
export type UserFact = z.output<typeof teamFactSchemas.user>;
export interface TeamFactsByKind {
  organization: OrganizationFact;
  user: UserFact;
}
export type TeamFact<K extends TeamFactKind = TeamFactKind> = TeamFactsByKind[K];
/** A fact as stored and read back: the fact and when it was written (epoch ms). */
export type StoredTeamFact<K extends TeamFactKind = TeamFactKind> = TeamFact<K> & {
  readonly updatedAt: number;
};

// Reading checks types only: values were normalized when written, and the ingress decodes on every request.
// Fields it does not know are dropped (a newer writer may add some).
const storedSchemas = {
  organization: z.object({
    memberCount: z.number().optional(),
    allowedDomains: z.array(z.string()).optional(),
    externalId: z.string().optional(),
    updatedAt: z.number(),
  }),
  user: z.object({ claims: z.record(z.string(), z.unknown()).optional(), updatedAt: z.number() }),
};

export function encodeTeamFact<K extends TeamFactKind>(fact: TeamFact<K>, now = Date.now()): string {
  return JSON.stringify({ ...fact, updatedAt: now });
}

/** Undefined for bytes that are not a valid record of this kind; never throws (the ingress reads on its hot path). */
export function decodeTeamFact<K extends TeamFactKind>(kind: K, raw: string): StoredTeamFact<K> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = storedSchemas[kind].safeParse(value);
  return parsed.success ? (parsed.data as StoredTeamFact<K>) : undefined;
}

export interface TeamFactWriteOptions {
  /** Expire the record after this many seconds. Default: never (the team deletes it explicitly). */
  ttlSeconds?: number | undefined;
}

/** One record of a bulk write. */
export interface TeamFactEntry<K extends TeamFactKind = TeamFactKind> {
  kind: K;
  id: string;
  fact: TeamFact<K>;
}

/** Commands per pipeline in {@link TeamFactStore.putMany}: bounded, so no single round trip is huge. */
export const TEAM_FACT_BATCH = 500;

/**
 * Reads and writes team facts. Callers validate with {@link teamFactSchemas} and {@link teamFactIdSchema}
 * first; a write replaces the whole record (and its TTL).
 */
export class TeamFactStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: CacheKeys,
  ) {}

  async put<K extends TeamFactKind>(
    kind: K,
    id: string,
    fact: TeamFact<K>,
    options: TeamFactWriteOptions = {},
  ): Promise<StoredTeamFact<K>> {
    const now = Date.now();
    const key = this.keys.team(kind, id);
    const value = encodeTeamFact(fact, now);
    // SET without EX also clears a TTL an earlier write asked for.
    if (options.ttlSeconds === undefined) await this.redis.set(key, value);
    else await this.redis.set(key, value, "EX", options.ttlSeconds);
    return { ...fact, updatedAt: now };
  }

  async get<K extends TeamFactKind>(kind: K, id: string): Promise<StoredTeamFact<K> | undefined> {
    const raw = await this.redis.get(this.keys.team(kind, id));
    return raw === null ? undefined : decodeTeamFact(kind, raw);
  }

  /** True when there was a record to delete. */
  async delete(kind: TeamFactKind, id: string): Promise<boolean> {
    return (await this.redis.del(this.keys.team(kind, id))) > 0;
  }

  /** Writes every record, {@link TEAM_FACT_BATCH} per batch; returns how many were written. */
  async putMany(
    entries: Iterable<TeamFactEntry>,
    options: TeamFactWriteOptions = {},
    batch = TEAM_FACT_BATCH,
  ): Promise<number> {
    const now = Date.now();
    let commands: Command[] = [];
    let written = 0;
    for (const { kind, id, fact } of entries) {
      const key = this.keys.team(kind, id);
      const value = encodeTeamFact(fact, now);
      commands.push(
        options.ttlSeconds === undefined
          ? ["SET", key, value]
          : ["SET", key, value, "EX", options.ttlSeconds],
      );
      if (commands.length === batch) {
        await sendBatch(this.redis, commands);
        written += commands.length;
        commands = [];
      }
    }
    await sendBatch(this.redis, commands);
    return written + commands.length;
  }
}
