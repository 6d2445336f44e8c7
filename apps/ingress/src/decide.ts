import { isUtf8 } from "node:buffer";
import { type InterceptorRequest, parseInterceptorRequest, type TriggerPoint } from "@gatehouse/contracts";
import {
  type CounterKeys,
  counterKeys,
  type DecisionCache,
  decodeFact,
  decodeTeamFact,
  type FactAnnouncements,
  type LocalFacts,
  slidingCount,
  type WorkerPresence,
} from "@gatehouse/decision-cache";
import { type AnyEnrichment, type Enqueuer, factKey } from "@gatehouse/enrichment-sdk";
import { enrichmentByName } from "@gatehouse/enrichments";
import {
  type CompiledTrigger,
  type Evaluation,
  type EvaluationInput,
  evaluateUnless,
  evaluateWithMisses,
  type FactName,
  type PolicyFacts,
  type RequestView,
  requestView,
  type TeamFactName,
  type TeamFacts,
  triggerPolicyFor,
  velocityCounterId,
  velocitySubject,
} from "@gatehouse/policy";
import type { Verifier } from "@gatehouse/signature";
import { inSpan, type Logger, type LogLine } from "@gatehouse/telemetry";
import { bare, unreadable, unverified, type Verdict, verdict } from "./answers.js";
import type { Deadlines } from "./deadlines.js";
import type { Explanation } from "./explanation.js";
import type { IngressMetrics } from "./ingress-metrics.js";
import type { PolicySource } from "./policy-source.js";
import type { RecentAnswers } from "./recent-answers.js";

/** Everything a decision needs, built once per process. */
export interface DecisionEngine {
  readonly verifier: Verifier;
  readonly cache: DecisionCache;
  readonly announcements: FactAnnouncements;
  /** Facts held in memory (GATEHOUSE_LOCAL_FACTS_MS): a warm request they cover makes no Redis round trip. */
  readonly local?: LocalFacts;
  readonly enqueuer: Enqueuer;
  /** Which enrichments' workers have gone: a fact none of them will compute is not waited for. */
  readonly presence: Pick<WorkerPresence, "gone">;
  /** The policy in force, compiled; replaced as a whole when the file changes. */
  readonly policy: PolicySource;
  readonly recent: RecentAnswers;
  readonly deadlineMs: number;
  /** The deadline guards of the requests waiting for Redis or for facts. */
  readonly deadlines: Deadlines;
  /** How late timers fire now: every budget below is shortened by it, so answers stay inside the deadline. */
  readonly lag: { readonly marginMs: number };
  /** Requests allowed to wait for an announcement at once; the rest answer a miss without waiting. */
  readonly maxWaiting: number;
  readonly metrics: IngressMetrics;
  readonly log: Logger;
  /** Redis failed a request's read, or took none of its writes (a full Redis): one warning a second at most. */
  readonly warnRedisTrouble: LogLine;
}

/**
 * How the cache served a decision: for audit and metrics. "memory": every fact from the process' copies (a
 * policy's team facts and counters, if any, read from Redis).
 */
export type CacheOutcome = "hit" | "memory" | "miss" | "waited" | "none" | "repeat" | "error";

/** Who and what a decision is about: carried into every answer's record. */
export interface About {
  readonly trigger: string;
  /** The verified interceptor id; undefined when verification failed. */
  readonly interceptorId: string | undefined;
  readonly environmentId: string | undefined;
  /** Sent by `gatehouse send` (a signed body field): audited apart from production. */
  readonly test: boolean;
}

// The ingress builds its per-request objects field by field, not with object spread (`{ ...about, … }`): at
// 3,000 requests/s such a literal for each Decided made every request's objects outlive young-generation
// collections — 700 KB surviving each scavenge against 100 KB with the same fields written out, and pauses
// twice as long (--trace-gc-nvp, A/B in one process). The spreads that build the
// policy's claims showed no such effect and stay.
export interface Decided {
  readonly verdict: Verdict;
  readonly about: About;
  readonly cache: CacheOutcome;
  /** False for an idempotent repeat: it is neither counted nor audited again. */
  readonly counted: boolean;
  /**
   * Where the answer is stored for repeats, when this request claimed its interceptor id or is to: "claim",
   * answered without a read, the id is claimed after the reply with the answer; "fill", its read claimed
   * the id and the answer fills that claim.
   */
  readonly storeAnswer?: "claim" | "fill";
  /** What the policy read and what it would have done in shadow: for the audit record and `gatehouse explain`. */
  readonly explanation?: Explanation;
  /** The version of the policy that decided. */
  readonly policyVersion?: string;
}

// Leave this much of the deadline to evaluate and answer after a wait for facts.
const ANSWER_MARGIN_MS = 25;
// The deadline guard fires this long before the deadline: room for the answer itself, and for a pause the
// guard cannot interrupt (a garbage collection, a stretch of work between two requests).
const GUARD_MARGIN_MS = 25;
// A repeat of an id another replica is answering looks for the stored answer this soon first.
const PENDING_FIRST_LOOK_MS = 50;
// A request answered from memory reads no velocity counter (those live in Redis only).
const NO_COUNTS: ReadonlyMap<string, number> = new Map();
const NOTHING_TO_READ: readonly PlannedFact[] = [];

type PlannedFact = { name: FactName; enrichment: AnyEnrichment; input: unknown; key: string };
type PlannedCounter = { id: string; window: number; keys: CounterKeys };
/** Everything one request reads in its one Redis command. */
type ReadPlan = {
  readonly facts: readonly PlannedFact[];
  readonly team: readonly { name: TeamFactName; key: string }[];
  readonly counters: readonly PlannedCounter[];
};
type Progress = {
  cache: CacheOutcome;
  counted: boolean;
  claimed?: boolean;
  explanation?: Explanation;
  /** Set while the request waits for facts: its answer should the deadline guard fire meanwhile. */
  atDeadline?: () => Verdict;
};
type VerifiedAbout = About & { readonly interceptorId: string };
/** The request's facts this process holds current copies of, and the rest, to read from Redis. */
type Remembered = { facts: PolicyFacts; toRead: readonly PlannedFact[] };
/** A request that reads Redis: what the read, the wait and the evaluation after it need. */
type ReadWork = {
  about: VerifiedAbout;
  policy: CompiledTrigger;
  policyVersion: string;
  view: RequestView;
  /** What is read: the facts not held in memory, the team facts and the counters. */
  plan: ReadPlan;
  /** The facts held in memory: the read adds its own to them. */
  remembered: Remembered;
  startedAt: number;
};

/**
 * Verify → parse → validate → facts from memory, or one Redis round trip (then wait for misses) → evaluate.
 * A warm request is decided synchronously and returned: nothing to wait for, so no promise and no deadline
 * guard. Otherwise it returns undefined and calls `later` once, synchronously from its deadline guard if
 * that comes first (see deadlines.ts). Never throws.
 */
export function decide(
  engine: DecisionEngine,
  routeTrigger: TriggerPoint | undefined,
  headers: Record<string, string | string[] | undefined>,
  raw: Buffer,
  startedAt: number,
  later: (decided: Decided) => void,
): Decided | undefined {
  // Answers due before this request's work begins go out first.
  engine.deadlines.fireDue(startedAt);
  const unverifiedTrigger = routeTrigger ?? "unknown";
  const verified = inSpan("gatehouse.verify", () =>
    engine.verifier.verify(
      {
        id: headers["interceptor-id"],
        timestamp: headers["interceptor-timestamp"],
        signature: headers["interceptor-signature"],
      },
      raw,
    ),
  );
  if (!verified.ok) {
    return {
      verdict: unverified(`signature.${verified.reason}`),
      about: { trigger: unverifiedTrigger, interceptorId: undefined, environmentId: undefined, test: false },
      cache: "none",
      counted: true,
    };
  }
  const interceptorId = verified.id;
  const early = (verdictValue: Verdict, trigger = unverifiedTrigger): Decided => ({
    verdict: verdictValue,
    about: { trigger, interceptorId, environmentId: undefined, test: false },
    cache: "none",
    counted: true,
  });

  let body: unknown;
  try {
    // JSON text is UTF-8 (RFC 8259). Decoding invalid bytes would turn them into U+FFFD, and the policy would
    // evaluate something other than the bytes that were signed.
    if (!isUtf8(raw)) return early(unreadable("body.invalid_json"));
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return early(unreadable("body.invalid_json"));
  }
  const parsed = parseInterceptorRequest(body);
  if (!parsed.ok) {
    if (parsed.reason === "body.unknown_trigger") {
      if (routeTrigger) return early(unreadable("body.trigger_mismatch"));
      return early(bare(engine.policy.current.compiled.unknownTrigger, "trigger.unknown"), "unknown");
    }
    return early(unreadable(parsed.reason));
  }
  const request = parsed.request;
  const trigger = request.trigger_point;
  if (routeTrigger && trigger !== routeTrigger) return early(unreadable("body.trigger_mismatch"));

  const loaded = engine.policy.current;
  const policy = triggerPolicyFor(loaded.compiled, request);
  const test = (body as { gatehouse_test?: unknown }).gatehouse_test === true;
  const about: VerifiedAbout = {
    trigger,
    interceptorId,
    environmentId: request.interceptor_context.environment_id ?? undefined,
    test,
  };

  // The same id already being answered (or just answered) here: join it. It is bound by its own deadline.
  const earlier = engine.recent.get(interceptorId);
  if (earlier !== undefined) {
    const joined = (json: string): Decided => ({
      about,
      verdict: repeatVerdict(json),
      cache: "repeat",
      counted: false,
    });
    if (typeof earlier === "string") return joined(earlier);
    void earlier.then((json) => later(joined(json)));
    return undefined;
  }

  try {
    return decideWarmOrRead(engine, request, policy, loaded.version, about, startedAt, later);
  } catch (error) {
    // A bug here, or in an enrichment package's `fromRequest`: the trigger's fallback answers, and it shows.
    engine.log.error({ interceptorId, err: error }, "decision failed; answering with the fallback");
    return {
      about,
      verdict: bare(policy.policy.fallback, "decision.failed"),
      cache: "none",
      counted: true,
    };
  }
}

/** Decided at once from the facts in memory when they cover the request; otherwise read from Redis. */
function decideWarmOrRead(
  engine: DecisionEngine,
  request: InterceptorRequest,
  policy: CompiledTrigger,
  policyVersion: string,
  about: VerifiedAbout,
  startedAt: number,
  later: (decided: Decided) => void,
): Decided | undefined {
  const { interceptorId } = about;
  const view = requestView(request);
  const now = Date.now();
  const plan = planReads(engine, request, view, policy, now);
  const remembered = fromMemory(engine, plan, now);
  if (remembered.toRead.length === 0 && plan.team.length === 0 && plan.counters.length === 0) {
    const facts = remembered.facts;
    const input: EvaluationInput = { view, facts, team: {}, counts: NO_COUNTS };
    const evaluation = inSpan("gatehouse.policy", () => evaluateWithMisses(policy, input, false));
    const answer = verdict(evaluation.answer, evaluation.reason, evaluation.rule);
    engine.recent.set(interceptorId, answer.json);
    return {
      about,
      verdict: answer,
      cache: plan.facts.length === 0 ? "none" : "memory",
      counted: true,
      policyVersion,
      storeAnswer: "claim",
      explanation: {
        facts,
        team: {},
        counts: input.counts,
        shadow: evaluation.shadow,
        compared: policy.needs.comparedFields,
      },
    };
  }
  const toRead: ReadPlan = { facts: remembered.toRead, team: plan.team, counters: plan.counters };
  decideFromRedis(engine, { about, policy, policyVersion, view, plan: toRead, remembered, startedAt }, later);
  return undefined;
}

/**
 * The request's facts, team facts and counts from Redis, under its deadline guard: `done` is called once,
 * with the evaluation or with the trigger's fallback, whichever comes first.
 */
function decideFromRedis(engine: DecisionEngine, work: ReadWork, done: (decided: Decided) => void): void {
  const { policy, startedAt } = work;
  const { interceptorId } = work.about;
  const settle = engine.recent.pending(interceptorId);
  const progress: Progress = { cache: "error", counted: true };
  let answered = false;
  const finish = (result: Verdict) => {
    // Past the deadline the request is answered already: a late result or failure is nobody's business.
    if (answered) return;
    answered = true;
    guard.cancel();
    // Answers due meanwhile go out first: this one may come from the middle of a wave of continuations that
    // lets no timer run until its end (see deadlines.ts).
    engine.deadlines.fireDue();
    settle(result.json);
    done({
      verdict: result,
      about: work.about,
      cache: progress.cache,
      counted: progress.counted,
      policyVersion: work.policyVersion,
      storeAnswer: progress.claimed ? "fill" : undefined,
      explanation: progress.explanation,
    });
  };
  const guard = engine.deadlines.add(guardAt(engine, startedAt), () => {
    const fallback = bare(policy.policy.fallback, "deadline.exceeded");
    try {
      finish(progress.atDeadline?.() ?? fallback);
    } catch (error) {
      engine.log.error({ interceptorId, err: error }, "decision failed; answering with the fallback");
      finish(fallback);
    }
  });
  lookUpAndEvaluate(engine, work, progress).then(finish, (error: unknown) => {
    if (answered) return;
    finish(bare(policy.policy.fallback, "cache.unavailable"));
    engine.warnRedisTrouble(
      { interceptorId, err: error },
      "decision cache unavailable; answered with the fallback",
    );
    // Whether its facts are cached is unknown: ask for them (deduplicated), or a subject whose read
    // failed would stay cold until its next request.
    for (const fact of work.plan.facts) enqueue(engine, fact);
  });
}

async function lookUpAndEvaluate(
  engine: DecisionEngine,
  work: ReadWork,
  progress: Progress,
): Promise<Verdict> {
  const { policy, view, plan, startedAt } = work;
  const { interceptorId } = work.about;
  const now = Date.now();
  const read = await inSpan("gatehouse.cache_read", () =>
    engine.cache.read(
      interceptorId,
      [...plan.facts.map((fact) => fact.key), ...plan.team.map((fact) => fact.key)],
      plan.counters.map((counter) => counter.keys),
    ),
  );
  // Every continuation on the request path begins by sending the answers that came due meanwhile: thousands
  // of replies arrive together, and their continuations run back to back with no timer in between.
  engine.deadlines.fireDue();
  if (read.kind === "repeat") {
    if (read.answer !== null) return repeat(read.answer, progress);
    // The first request with this id is still being answered by another replica: its answer is stored
    // within its own deadline, which ends before ours. Look once soon, once just before our deadline.
    progress.cache = "repeat";
    progress.counted = false;
    const lastLook = timeLeft(engine, startedAt) - ANSWER_MARGIN_MS;
    for (const delay of [Math.min(PENDING_FIRST_LOOK_MS, lastLook), lastLook - PENDING_FIRST_LOOK_MS]) {
      if (delay <= 0) continue;
      await new Promise((resolve) => setTimeout(resolve, delay));
      engine.deadlines.fireDue();
      const stored = await engine.cache.storedAnswer(interceptorId);
      engine.deadlines.fireDue();
      if (stored !== null) return repeat(stored, progress);
    }
    return bare(policy.policy.fallback, "idempotency.pending");
  }
  progress.claimed = read.claimed;
  if (!read.claimed) {
    engine.warnRedisTrouble(
      { interceptorId },
      "Redis is full (maxmemory): deciding from what it holds, without claiming the id or counting",
    );
  }

  const facts = work.remembered.facts;
  const missing: PlannedFact[] = [];
  for (const [index, fact] of plan.facts.entries()) {
    const raw = read.values[index];
    const record = raw ? (engine.local?.put(fact.key, raw, now) ?? decodeFact(raw)) : undefined;
    engine.metrics.cacheLookups({ enrichment: fact.name, result: record ? "hit" : "miss" });
    if (record) {
      (facts as Record<string, unknown>)[fact.name] = record.fact;
      if (now > record.refreshAt) enqueue(engine, fact);
    } else {
      missing.push(fact);
      enqueue(engine, fact);
    }
  }
  const team: TeamFacts = {};
  for (const [index, fact] of plan.team.entries()) {
    const raw = read.values[plan.facts.length + index];
    const value = raw ? decodeTeamFact(fact.name, raw) : undefined;
    if (value) (team as Record<string, unknown>)[fact.name] = value;
  }
  const counts = new Map<string, number>();
  for (const [index, counter] of plan.counters.entries()) {
    const [current, previous] = read.counts[index] ?? [0, 0];
    counts.set(counter.id, slidingCount(current, previous, counter.window, now));
  }
  // Nothing read from Redis among the facts: those in `facts` all came from memory.
  if (plan.facts.length > 0) progress.cache = missing.length === 0 ? "hit" : "miss";
  else progress.cache = Object.keys(facts).length > 0 ? "memory" : "none";

  const input: EvaluationInput = { view, facts, team, counts };
  const answer = (evaluation: Evaluation): Verdict => {
    progress.explanation = {
      facts,
      team,
      counts,
      shadow: evaluation.shadow,
      compared: policy.needs.comparedFields,
    };
    return verdict(evaluation.answer, evaluation.reason, evaluation.rule);
  };
  // The policy's answer over the facts there are, the missing ones as the trigger's onMiss says.
  const withMisses = () =>
    answer(
      inSpan("gatehouse.policy", () =>
        evaluateWithMisses(
          policy,
          input,
          missing.some((fact) => !(fact.name in facts)),
        ),
      ),
    );
  if (missing.length === 0) return withMisses();
  // A rule that needs none of the missing facts may decide already: then there is nothing to wait for.
  const early = evaluateUnless(policy, input, new Set(missing.map((fact) => fact.name)));
  if (early) return answer(early);
  const budget = Math.min(policy.policy.onMiss.waitMs, timeLeft(engine, startedAt) - ANSWER_MARGIN_MS);
  // No wait for facts whose workers have all gone (crashed, scaled to zero): the jobs stay queued for when
  // they are back, and the request is answered now by the onMiss policy, as after a wait in vain.
  const computed = missing.some((fact) => !engine.presence.gone(fact.enrichment.name));
  if (budget > 0 && computed && engine.announcements.waiting < engine.maxWaiting) {
    // The wait ends before the deadline guard, but an event loop held past both (a burst) runs them
    // together, the guard first: it answers what the wait's end would, not the fallback (which is for a read
    // that did not come back) — a policy that denies what it could not look up still does under load.
    progress.atDeadline = withMisses;
    const announced = await engine.announcements.wait(
      missing.map((fact) => fact.key),
      budget,
    );
    for (const fact of missing) {
      const raw = announced.get(fact.key);
      const record = raw ? decodeFact(raw) : undefined;
      if (record) (facts as Record<string, unknown>)[fact.name] = record.fact;
    }
    if (announced.size === missing.length) progress.cache = "waited";
    engine.deadlines.fireDue();
  }
  return withMisses();
}

/**
 * The request's facts this process holds current copies of, and the rest, to read from Redis. A fact held
 * is not read even when the request reads Redis anyway (team facts and velocity counters live there only):
 * its copy is what the read would return, replaced by the workers' announcements as they write, and
 * nothing is held while announcements may be missed. A copy due for refresh asks for it.
 */
function fromMemory(engine: DecisionEngine, plan: ReadPlan, now: number): Remembered {
  const facts: PolicyFacts = {};
  const local = engine.local;
  if (!local) return { facts, toRead: plan.facts };
  let toRead: PlannedFact[] | undefined;
  for (const fact of plan.facts) {
    const record = local.get(fact.key, now);
    if (!record) {
      toRead ??= [];
      toRead.push(fact);
      continue;
    }
    (facts as Record<string, unknown>)[fact.name] = record.fact;
    engine.metrics.cacheLookups({ enrichment: fact.name, result: "memory" });
    if (now > record.refreshAt) enqueue(engine, fact);
  }
  return { facts, toRead: toRead ?? NOTHING_TO_READ };
}

/** The keys this request reads: the facts the trigger's policy needs whose subject is in the request. */
function planReads(
  engine: DecisionEngine,
  request: InterceptorRequest,
  view: RequestView,
  policy: CompiledTrigger,
  now: number,
): ReadPlan {
  const keys = engine.cache.keys;
  const plan = {
    facts: [] as PlannedFact[],
    team: [] as ReadPlan["team"][number][],
    counters: [] as PlannedCounter[],
  };
  for (const name of policy.needs.facts) {
    // Registered: the policy was refused otherwise (policy-source.ts).
    const enrichment = enrichmentByName(name) as AnyEnrichment;
    const input = enrichment.fromRequest(request);
    if (input !== undefined)
      plan.facts.push({ name, enrichment, input, key: factKey(keys, enrichment, input) });
  }
  for (const name of policy.needs.team) {
    const id = name === "organization" ? view.organizationId : view.userId;
    if (id !== undefined) plan.team.push({ name, key: keys.team(name, id) });
  }
  for (const velocity of policy.needs.counters) {
    const subject = velocitySubject(view, velocity.per);
    if (subject === undefined) continue;
    const id = velocityCounterId(velocity);
    plan.counters.push({
      id,
      window: velocity.window,
      // Each trigger counts its own requests: a sign-up limit never counts invitations.
      keys: counterKeys(keys, `${request.trigger_point}:${id}`, subject, velocity.window, now),
    });
  }
  return plan;
}

/** When the request's deadline guard is due; it fires earlier by what the event loop is running late by. */
function guardAt(engine: DecisionEngine, startedAt: number): number {
  return startedAt + engine.deadlineMs - GUARD_MARGIN_MS;
}

/** What is left until the request's deadline guard fires, as things stand. */
function timeLeft(engine: DecisionEngine, startedAt: number): number {
  return guardAt(engine, startedAt) - performance.now() - engine.lag.marginMs;
}

function enqueue(engine: DecisionEngine, fact: PlannedFact): void {
  void engine.enqueuer
    .enqueue(fact.enrichment, fact.input)
    .then((result) => engine.metrics.enqueues({ enrichment: fact.name, result }));
}

function repeat(json: string, progress: Progress): Verdict {
  progress.cache = "repeat";
  progress.counted = false;
  return repeatVerdict(json);
}

/** The first answer to an interceptor id, given again. */
function repeatVerdict(json: string): Verdict {
  const decision = (JSON.parse(json) as { decision: "ALLOW" | "DENY" }).decision;
  return { json, decision, reason: "idempotency.repeat" };
}
