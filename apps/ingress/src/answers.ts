import type { Decision, InterceptorAnswer } from "@gatehouse/contracts";

/** An answer ready to send: the JSON is serialized once, and the parts metrics and audit need are kept. */
export interface Verdict {
  readonly json: string;
  readonly decision: Decision;
  /** Internal reason code, never shown to users. */
  readonly reason: string;
  readonly rule?: string;
}

export function verdict(answer: InterceptorAnswer, reason: string, rule?: string): Verdict {
  return { json: serialized(answer), decision: answer.decision, reason, rule: rule || undefined };
}

/** Most answers are a bare decision: those are the constants below, not a JSON.stringify per request. */
function serialized(answer: InterceptorAnswer): string {
  let fields = 0;
  for (const _ in answer) fields++;
  if (fields === 1 && (answer.decision === "ALLOW" || answer.decision === "DENY"))
    return answer.decision === "ALLOW" ? ALLOW : DENY;
  return JSON.stringify(answer);
}

const UNVERIFIED = JSON.stringify({
  decision: "DENY",
  error: { message: "This request could not be verified." },
} satisfies InterceptorAnswer);
const UNREADABLE = JSON.stringify({
  decision: "DENY",
  error: { message: "This request could not be processed." },
} satisfies InterceptorAnswer);
const ALLOW = JSON.stringify({ decision: "ALLOW" } satisfies InterceptorAnswer);
const DENY = JSON.stringify({ decision: "DENY" } satisfies InterceptorAnswer);

/** A request that failed verification: fail closed, with a generic message (Scalekit's advice). */
export const unverified = (reason: string): Verdict => ({ json: UNVERIFIED, decision: "DENY", reason });

/** A verified request whose body cannot be used. */
export const unreadable = (reason: string): Verdict => ({ json: UNREADABLE, decision: "DENY", reason });

/** A bare decision: fallbacks, miss decisions, unknown triggers. */
export const bare = (decision: Decision, reason: string): Verdict => ({
  json: decision === "ALLOW" ? ALLOW : DENY,
  decision,
  reason,
});
