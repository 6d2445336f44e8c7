import type { InterceptorRequest } from "@gatehouse/contracts";
import type { CacheKeys } from "@gatehouse/decision-cache";
import type { RedisClient } from "@gatehouse/redis";
import type { Logger } from "@gatehouse/telemetry";
import type { z } from "zod";

/** What a running enrichment gets besides its input. */
export interface RunContext {
  /** Aborted when the job's timeout passes or the worker shuts down; pass it to every I/O call. */
  readonly signal: AbortSignal;
}

/** What a handler's `start` gets: the worker's Redis, key namespace and logger. */
export interface StartContext {
  /**
   * A `bullmq`-profile connection (commands wait for a reconnect): usable for the handler's own keys and for
   * BullMQ Queues and Workers. Shared: do not close it.
   */
  readonly redis: RedisClient;
  /** The deployment's keys; the handler's own go under `${keys.prefix}:v1:`, its queues under `bullPrefix(keys.prefix)`. */
  readonly keys: CacheKeys;
  /** The worker's logger, bound to the enrichment. */
  readonly log: Logger;
}

/** What `start` started, stopped when the worker closes. */
export interface StartedHandler {
  close(): Promise<void>;
}

/** What an enrichment does once set up with its settings: compute one fact, and optionally warm many. */
export interface EnrichmentHandler<Input, Fact> {
  run(input: Input, context: RunContext): Promise<Fact>;
  /** Facts known without I/O (e.g. every domain on a shipped list), written in bulk when a worker starts. */
  warm?(): Iterable<{ input: Input; fact: Fact }>;
  /**
   * At most `max` runs started every `perMs`, by all the workers of the enrichment together (a provider's
   * quota, from the settings). Unset: as many as the workers' concurrency allows.
   */
  readonly rateLimit?: { readonly max: number; readonly perMs: number };
}

/**
 * A handler with work that needs the worker's Redis: e.g. a refresh schedule shared by every worker. A
 * separate interface, not an optional member of EnrichmentHandler: a handler that must start says so in its
 * type.
 */
export interface StartingHandler<Input, Fact> extends EnrichmentHandler<Input, Fact> {
  /**
   * Called once by the worker, which takes jobs only once it resolves and calls the result's `close()` when
   * it closes. If it rejects, the worker logs the error and takes no jobs.
   */
  start(context: StartContext): Promise<StartedHandler>;
}

/** Whether a handler has a `start` (see StartingHandler). */
export function isStartingHandler<Input, Fact>(
  handler: EnrichmentHandler<Input, Fact>,
): handler is StartingHandler<Input, Fact> {
  return typeof (handler as Partial<StartingHandler<Input, Fact>>).start === "function";
}

/**
 * One enrichment source. The static part (name, input, subject, fromRequest) is what the ingress needs to
 * look a fact up and to enqueue the job on a miss; `setup` builds the part that runs in the worker.
 */
export interface EnrichmentDefinition<Name extends string, Input, Fact, Settings> {
  /** Kebab-case; the job is named `enrich.<name>.v<version>` and the facts are keyed by it. */
  readonly name: Name;
  /** Bump when the fact's shape or meaning changes: old cached facts are then never read as new. */
  readonly version: number;
  /** The job payload, validated when enqueued and again when the worker picks it up. */
  readonly input: z.ZodType<Input>;
  /** The stored fact, validated before it is written to the cache. */
  readonly fact: z.ZodType<Fact>;
  /** The input this request implies, or undefined when the enrichment does not apply to it. Pure and cheap. */
  fromRequest(request: InterceptorRequest): Input | undefined;
  /**
   * The cache subject for an input, e.g. the normalized domain. Equal subjects share one fact and one job.
   * Taken from `fromRequest`'s input as it is (the fact key, the job's deduplication), so `input` should
   * check a normalized form rather than transform into one.
   */
  subject(input: Input): string;
  /**
   * How long a fact stays in the cache: between 9/10 of it and all of it, so facts computed together are
   * not all refreshed together. Default: 1 day.
   */
  readonly ttlSeconds?: number;
  /**
   * A shorter life for some facts, e.g. one that records a lookup that could not be made (an MX "unknown"
   * should be retried in minutes, not kept for a day). Returns seconds; default: `ttlSeconds`.
   */
  ttlFor?(fact: Fact): number;
  /** How long one run may take before it is aborted and retried. Default: 5 s. */
  readonly timeoutMs?: number;
  /** Attempts in all (first run included) and the first exponential backoff delay. Default: 3 and 500 ms. */
  readonly retry?: { readonly attempts: number; readonly backoffMs: number };
  /** Jobs one worker process runs at once. Default: 8. */
  readonly concurrency?: number;
  /** The environment variables this enrichment reads, parsed once when the worker boots. */
  readonly settings: z.ZodType<Settings>;
  setup(settings: Settings): EnrichmentHandler<Input, Fact> | Promise<EnrichmentHandler<Input, Fact>>;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds enrichments of every input, fact and settings type.
export type AnyEnrichment = EnrichmentDefinition<string, any, any, any>;

export type FactOf<E> = E extends EnrichmentDefinition<string, unknown, infer Fact, unknown> ? Fact : never;
export type InputOf<E> =
  E extends EnrichmentDefinition<string, infer Input, unknown, unknown> ? Input : never;

/** Declares an enrichment; the identity function that gives the definition its types. */
export function defineEnrichment<Name extends string, Input, Fact, Settings>(
  definition: EnrichmentDefinition<Name, Input, Fact, Settings>,
): EnrichmentDefinition<Name, Input, Fact, Settings> {
  return definition;
}
