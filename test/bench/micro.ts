// `npm run bench:micro`: the request path's pure steps alone, in one process — signature verification
// (Gatehouse beside standardwebhooks' and Scalekit's SDK verifiers, same body, same run), JSON.parse, the
// zod parse of a documented body, an email's domain normalized (a plain ASCII one, decided by one
// pattern, beside an IDN one, which takes the full path), policy evaluation, fact decoding, serializing a
// bare answer (a constant, beside JSON.stringify), and counting a decision in the metrics (Gatehouse's
// labelledCounter beside prom-client's own labelled child, which it replaced). Operations per second and
// ns each.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseInterceptorRequest } from "@gatehouse/contracts";
import { decodeFact, encodeFact } from "@gatehouse/decision-cache";
import { compilePolicy, DEFAULT_POLICY, evaluate, type PolicyFacts, requestView } from "@gatehouse/policy";
import { createVerifier, generateSecret, signedHeaders } from "@gatehouse/signature";
import { Counter, labelledCounter, Registry } from "@gatehouse/telemetry";
import { ScalekitClient } from "@scalekit-sdk/node";
import { Webhook } from "standardwebhooks";
import { buildRequestBody } from "../../apps/cli/src/build-request.js";
import { verdict } from "../../apps/ingress/src/answers.js";
import { domainOfEmail } from "../../packages/enrich-email-domain/src/normalize-domain.js";
import { ROOT } from "../support/child-process.js";
import { emailFact, UNKNOWN_IP } from "../support/ingress-harness.js";
import { describeMachine } from "./machine.js";
import { median } from "./stats.js";

const ROUNDS = 9;
const ROUND_MS = 150;

interface Measured {
  readonly name: string;
  readonly nsPerOp: number;
  readonly bestNsPerOp: number;
  readonly opsPerSecond: number;
}

let sink: unknown;

/** Median of ROUNDS rounds of about ROUND_MS each, after a warmup that also sizes the rounds. */
function measure(name: string, run: () => unknown): Measured {
  let iterations = 1_000;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink = run();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms >= ROUND_MS / 2) {
      iterations = Math.max(1_000, Math.round((iterations * ROUND_MS) / ms));
      break;
    }
    iterations *= 4;
  }
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink = run();
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  const nsPerOp = median(rounds);
  return { name, nsPerOp, bestNsPerOp: Math.min(...rounds), opsPerSecond: 1e9 / nsPerOp };
}

const secret = generateSecret();
const body = JSON.stringify(
  buildRequestBody("PRE_SIGNUP", { email: "ada@bench-co-1.com", ip: "81.0.0.7" }, { test: false }),
);
const raw = Buffer.from(body);
const headers = signedHeaders({ secret, body });
const gatehouse = createVerifier({ secrets: [secret] });
const gatehouseRotating = createVerifier({ secrets: [generateSecret(), secret] });
const standard = new Webhook(secret);
const standardHeaders = {
  "webhook-id": headers["interceptor-id"],
  "webhook-timestamp": headers["interceptor-timestamp"],
  "webhook-signature": headers["interceptor-signature"],
};
const scalekit = new ScalekitClient("https://bench.invalid", "skc_bench", "bench-client-secret");
const gatehouseHeaders = {
  id: headers["interceptor-id"],
  timestamp: headers["interceptor-timestamp"],
  signature: headers["interceptor-signature"],
};
const parsed = JSON.parse(body) as unknown;
const facts: PolicyFacts = {
  "email-domain": emailFact("bench-co-1.com", false),
  "ip-reputation": { lists: [], listed: false, ...UNKNOWN_IP },
};
const compiled = compilePolicy(DEFAULT_POLICY);
const signup = compiled.triggers.get("PRE_SIGNUP")!;
const session = compiled.triggers.get("PRE_SESSION_CREATION")!;
const claims: PolicyFacts = { "user-claims": { claims: { plan: "pro", seats: 25 } } };
const signupRequest = parseInterceptorRequest(parsed);
if (!signupRequest.ok) throw new Error("the benchmark's request does not validate");
const view = requestView(signupRequest.request);
const input = (policyFacts: PolicyFacts) => ({ view, facts: policyFacts, team: {}, counts: new Map() });
const storedFact = encodeFact(facts["email-domain"], 86_400);
const registry = new Registry();
const DECISION_LABELS = ["trigger", "decision", "reason"] as const;
const countDecision = labelledCounter(registry, "micro_decisions_total", "Decisions.", DECISION_LABELS);
const promChild = new Counter({
  name: "micro_prom_decisions_total",
  help: "Decisions.",
  labelNames: DECISION_LABELS,
  registers: [registry],
}).labels({ trigger: "PRE_SIGNUP", decision: "ALLOW", reason: "policy.default" });

// Each verifier must accept the request, or the comparison means nothing.
if (!gatehouse.verify(gatehouseHeaders, raw).ok) throw new Error("Gatehouse refused the request");
standard.verify(body, standardHeaders);
scalekit.verifyInterceptorPayload(secret, headers, body);

const results = [
  measure("verify: Gatehouse (raw bytes, one secret)", () => gatehouse.verify(gatehouseHeaders, raw)),
  measure("verify: Gatehouse (two secrets, second matches)", () =>
    gatehouseRotating.verify(gatehouseHeaders, raw),
  ),
  measure("verify: standardwebhooks Webhook#verify", () => standard.verify(body, standardHeaders)),
  measure("verify: @scalekit-sdk/node verifyInterceptorPayload", () =>
    scalekit.verifyInterceptorPayload(secret, headers, body),
  ),
  measure(`JSON.parse of the body (${raw.length} bytes)`, () => JSON.parse(raw.toString("utf8"))),
  measure("zod: parseInterceptorRequest (PRE_SIGNUP)", () => parseInterceptorRequest(parsed)),
  measure("email domain: domainOfEmail, plain ASCII (one pattern)", () =>
    domainOfEmail("Ada@Bench-Co-1.com"),
  ),
  measure("email domain: domainOfEmail, IDN (the full path)", () => domainOfEmail("ada@bücher-1.de")),
  measure("policy: requestView (lazy: each field normalized on first read)", () =>
    requestView(signupRequest.request),
  ),
  measure("policy: evaluate PRE_SIGNUP with two facts", () => evaluate(signup, input(facts))),
  measure("policy: evaluate PRE_SESSION_CREATION with claims", () => evaluate(session, input(claims))),
  measure("decodeFact (email-domain record)", () => decodeFact(storedFact)),
  measure("answer: verdict of a bare ALLOW (a constant)", () =>
    verdict({ decision: "ALLOW" }, "policy.default"),
  ),
  measure("answer: the same with JSON.stringify", () => JSON.stringify({ decision: "ALLOW" })),
  measure("metrics: count a decision (labelledCounter)", () =>
    countDecision({ trigger: "PRE_SIGNUP", decision: "ALLOW", reason: "policy.default" }),
  ),
  measure("metrics: the same with prom-client's labelled child", () => promChild.inc()),
];
void sink;

const machine = describeMachine();
console.log(`micro benchmark — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
console.log(`median of ${ROUNDS} rounds of ~${ROUND_MS} ms each (best round in brackets)\n`);
const width = Math.max(...results.map((r) => r.name.length));
console.log(
  `${"operation".padEnd(width)}  ${"ops/s".padStart(12)}  ${"ns/op".padStart(9)}  ${"(best)".padStart(9)}`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(width)}  ${Math.round(r.opsPerSecond).toLocaleString("en-US").padStart(12)}  ` +
      `${r.nsPerOp.toFixed(0).padStart(9)}  ${`(${r.bestNsPerOp.toFixed(0)})`.padStart(9)}`,
  );
}
const gh = results[0]!.nsPerOp;
console.log(
  `\nstandardwebhooks / Gatehouse verify: ${(results[2]!.nsPerOp / gh).toFixed(2)}×; ` +
    `Scalekit SDK / Gatehouse verify: ${(results[3]!.nsPerOp / gh).toFixed(2)}×`,
);
const dir = join(ROOT, "test/bench/results");
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, "micro-latest.json"),
  `${JSON.stringify({ machine, at: new Date().toISOString(), results }, null, 2)}\n`,
);
