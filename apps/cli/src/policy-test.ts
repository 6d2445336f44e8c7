import { isDeepStrictEqual } from "node:util";
import { type InterceptorAnswer, parseInterceptorRequest } from "@gatehouse/contracts";
import { ENRICHMENTS, enrichmentByName } from "@gatehouse/enrichments";
import {
  type CompiledPolicy,
  compilePolicy,
  evaluateWithMisses,
  type FactName,
  factOf,
  loadVersionedPolicyFile,
  requestView,
  type ShadowHit,
  triggerPolicyFor,
  velocityCounterId,
} from "@gatehouse/policy";
import {
  caseFiles,
  type Expectation,
  type LoadedCase,
  loadCase,
  type PolicyCase,
} from "./policy-case-file.js";

/**
 * `pass` and `fail`: the case had an expectation; `ran`: it had none; `invalid`: it could not be evaluated
 * (unreadable file, bad shape, a request the ingress would refuse).
 */
export type CaseStatus = "pass" | "fail" | "ran" | "invalid";

export interface CaseResult {
  file: string;
  name?: string;
  status: CaseStatus;
  /** invalid: what is wrong with the case; fail: each expectation not met. */
  problems: string[];
  trigger?: string;
  answer?: InterceptorAnswer;
  reason?: string;
  /**
   * What decided: the rule's name, `default` (the trigger's default), `onMiss` (a needed fact was missing
   * and `onMiss.afterWait` answered), `shadow` (the trigger is in shadow: ALLOW) or `unknownTrigger`.
   */
  decidedBy?: string;
  shadow: ShadowHit[];
  /** Facts the policy reads for this request that the case does not give (as if not cached). */
  missing: FactName[];
  /** Worth knowing, not a failure: an unknown trigger, counts the policy does not read. */
  notes: string[];
}

export interface PolicyTestReport {
  policy: string;
  /** The policy's version, as the ingress records it in the audit (`gatehouse explain` shows it). */
  version: string;
  cases: CaseResult[];
  passed: number;
  failed: number;
  invalid: number;
  /** Cases without an expectation. */
  ran: number;
}

type Evaluated = Omit<CaseResult, "file" | "name" | "status" | "problems">;

/** Exactly the ingress's steps after its one Redis read, with the case's facts in place of the cache's. */
function evaluateCase(policy: CompiledPolicy, testCase: PolicyCase): Evaluated | { problems: string[] } {
  const parsed = parseInterceptorRequest(testCase.request);
  if (!parsed.ok) {
    if (parsed.reason === "body.unknown_trigger") {
      return {
        trigger: parsed.trigger,
        answer: { decision: policy.unknownTrigger },
        reason: "trigger.unknown",
        decidedBy: "unknownTrigger",
        shadow: [],
        missing: [],
        notes: [`unknown trigger "${parsed.trigger}": answered with the policy's unknownTrigger`],
      };
    }
    return { problems: (parsed.issues ?? [parsed.reason]).map((issue) => `request: ${issue}`) };
  }
  const request = parsed.request;
  const trigger = triggerPolicyFor(policy, request);
  const { facts, team } = testCase;
  // Like the ingress: a fact is missing when its subject is in the request but it is not cached.
  const missing = trigger.needs.facts.filter(
    (name) => enrichmentByName(name)?.fromRequest(request) !== undefined && factOf(facts, name) === undefined,
  );
  const counts = new Map(Object.entries(testCase.counts));
  const evaluation = evaluateWithMisses(
    trigger,
    { view: requestView(request), facts, team, counts },
    missing.length > 0,
  );
  const read = new Set(trigger.needs.counters.map(velocityCounterId));
  const unread = [...counts.keys()].filter((id) => !read.has(id));
  const missDecided = missing.length > 0 && trigger.policy.onMiss.afterWait !== "evaluate";
  return {
    trigger: request.trigger_point,
    answer: evaluation.answer,
    reason: evaluation.reason,
    decidedBy: evaluation.rule ?? (missDecided ? "onMiss" : trigger.policy.shadow ? "shadow" : "default"),
    shadow: [...evaluation.shadow],
    missing,
    notes:
      unread.length === 0
        ? []
        : [
            `counts ${unread.join(", ")}: not read by ${request.trigger_point}` +
              (read.size > 0 ? ` (it reads ${[...read].join(", ")})` : " (it reads no counter)"),
          ],
  };
}

// JSON round trip: the answer is compared as Scalekit would receive it.
const asJson = (value: unknown) => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
const show = (value: unknown) => (value === undefined ? "none" : JSON.stringify(value));

function unmet(expect: Expectation, got: Evaluated): string[] {
  const problems: string[] = [];
  const check = (field: string, wanted: unknown, actual: unknown) => {
    if (wanted !== undefined && !isDeepStrictEqual(wanted, actual))
      problems.push(`expected ${field} ${show(wanted)}, got ${show(actual)}`);
  };
  check("decision", expect.decision, got.answer?.decision);
  check("rule", expect.rule, got.decidedBy);
  check("reason", expect.reason, got.reason);
  check("response", expect.response, asJson(got.answer?.response));
  check(
    "shadow",
    expect.shadow,
    got.shadow.map((hit) => hit.rule),
  );
  return problems;
}

/** Evaluates one loaded case and checks its expectation. Never throws for a bad case. */
function runCase(policy: CompiledPolicy, loaded: LoadedCase): CaseResult {
  const { file, name } = loaded.ok ? loaded.testCase : loaded;
  const id = { file, ...(name !== undefined && { name }) };
  if (!loaded.ok) {
    return { ...id, status: "invalid", problems: loaded.problems, shadow: [], missing: [], notes: [] };
  }
  const expect = loaded.testCase.expect;
  const evaluated = evaluateCase(policy, loaded.testCase);
  if ("problems" in evaluated) {
    return { ...id, status: "invalid", problems: evaluated.problems, shadow: [], missing: [], notes: [] };
  }
  const problems = expect ? unmet(expect, evaluated) : [];
  const status = !expect ? "ran" : problems.length === 0 ? "pass" : "fail";
  return { ...id, status, problems, ...evaluated };
}

function report(policy: string, version: string, cases: CaseResult[]): PolicyTestReport {
  const count = (status: CaseStatus) => cases.filter((result) => result.status === status).length;
  return {
    policy,
    version,
    cases,
    passed: count("pass"),
    failed: count("fail"),
    invalid: count("invalid"),
    ran: count("ran"),
  };
}

/**
 * Loads the policy as the ingress does (a `PolicyError` names each bad line and field), then evaluates every
 * case in order. Offline: no Redis, no network. Throws a `UsageError` for a case path that does not exist.
 */
export async function testPolicy(policyFile: string, caseArgs: readonly string[]): Promise<PolicyTestReport> {
  const files = caseFiles(caseArgs);
  const loaded = await loadVersionedPolicyFile(policyFile);
  const policy = compilePolicy(loaded.policy, { enrichments: ENRICHMENTS, file: policyFile });
  return report(
    policyFile,
    loaded.version,
    files.map((file) => runCase(policy, loadCase(file))),
  );
}
