import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { JOB_STATES } from "@gatehouse/enrichment-sdk";
import { ENRICHMENT_NAMES } from "@gatehouse/enrichments";
import { createRegistry } from "@gatehouse/telemetry";
import type { RunningWorkers } from "@gatehouse/worker/src/start-workers.js";
import { observeWorkers } from "@gatehouse/worker/src/worker-metrics.js";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ROOT } from "./support/child-process.js";
import { readRepoFile } from "./support/deploy-files.js";
import { testEnv, testIngress } from "./support/ingress-harness.js";

// infra/prometheus/gatehouse-alerts.yaml against what the apps really expose: every expression parses with
// Prometheus' own PromQL grammar (its Lezer parser, the one Prometheus' UI uses), every metric it reads is in
// the ingress' or a worker's registry, and every label value it matches is one the code gives.

const ALERTS = "infra/prometheus/gatehouse-alerts.yaml";

const rulesFile = z
  .object({
    groups: z.array(
      z
        .object({
          name: z.string().min(1),
          rules: z.array(
            z
              .object({
                alert: z.string().regex(/^Gatehouse[A-Z][A-Za-z]+$/),
                expr: z.string().min(1),
                for: z
                  .string()
                  .regex(/^\d+[smh]$/)
                  .optional(),
                labels: z.object({ severity: z.enum(["warning", "critical"]) }).strict(),
                annotations: z
                  .object({ summary: z.string().min(1), description: z.string().min(1) })
                  .strict(),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();
type Rule = z.infer<typeof rulesFile>["groups"][number]["rules"][number];

/** Metric names in Prometheus' text format, with the series a histogram or summary adds. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
    if (type === "summary") for (const suffix of ["_sum", "_count"]) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Every non-test TypeScript source of the apps and packages, as one text: where label values are written. */
function sourceText(): string {
  const texts: string[] = [];
  for (const top of ["apps", "packages"]) {
    for (const entry of readdirSync(join(ROOT, top), { recursive: true, encoding: "utf8" })) {
      if (entry.includes("node_modules") || entry.includes("dist/")) continue;
      if (entry.endsWith(".ts") && !entry.endsWith(".test.ts"))
        texts.push(readFileSync(join(ROOT, top, entry), "utf8"));
    }
  }
  return texts.join("\n");
}

/** Label values that code outside the worker's own constants gives: checked against their registries. */
const KNOWN_VALUES: Record<string, readonly string[]> = {
  enrichment: ENRICHMENT_NAMES,
  state: JOB_STATES,
};

/** What is wrong with one expression: syntax, unknown metrics, label values the code never gives. */
function problemsOf(expr: string, metrics: Set<string>, source: string): string[] {
  const problems: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError)
        problems.push(`syntax error at ${node.from}: "${expr.slice(node.from, node.to + 10)}"`);
      if (node.name === "VectorSelector") {
        const identifier = node.node.getChild("Identifier");
        const name = identifier && expr.slice(identifier.from, identifier.to);
        if (name && !metrics.has(name)) problems.push(`unknown metric ${name}`);
      }
      if (node.name === "UnquotedLabelMatcher") {
        const label = node.node.getChild("LabelName");
        const value = node.node.getChild("StringLiteral");
        if (!label || !value) return;
        const labelName = expr.slice(label.from, label.to);
        const alternatives = expr.slice(value.from + 1, value.to - 1).split("|");
        for (const alternative of alternatives) {
          const known = KNOWN_VALUES[labelName];
          const given = known ? known.includes(alternative) : source.includes(`"${alternative}"`);
          if (!given) problems.push(`${labelName}="${alternative}" is a value the code never gives`);
        }
      }
    },
  });
  return problems;
}

let metrics: Set<string>;
const source = sourceText();
const rules: Rule[] = rulesFile.parse(parseYaml(readRepoFile(ALERTS))).groups.flatMap((group) => group.rules);
let closeIngress: () => Promise<unknown> = async () => {};

beforeAll(async () => {
  const ingress = await testIngress(testEnv(inject("redisUrl")));
  closeIngress = () => ingress.close();
  const workerRegistry = createRegistry("gatehouse_", 1_000);
  const idle: RunningWorkers = {
    workers: new Map(),
    redisUp: async () => true,
    jobCounts: async () => undefined,
    close: async () => {},
  };
  observeWorkers(workerRegistry, idle);
  metrics = new Set([
    ...exposedNames((await ingress.inject("/metrics")).body),
    ...exposedNames(await workerRegistry.metrics()),
  ]);
});
afterAll(() => closeIngress());

describe("the Prometheus alerting rules", () => {
  it("are a valid rules file with unique alert names", () => {
    expect(rules.length).toBeGreaterThan(10);
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
  });

  it.each(rules.map((rule) => [rule.alert, rule] as const))(
    "%s: parses as PromQL, reads metrics the apps expose, matches label values the code gives",
    (_, rule) => {
      expect(problemsOf(rule.expr, metrics, source)).toEqual([]);
    },
  );

  it("alert when any registered enrichment has no running worker (a queue nobody serves reports nothing)", () => {
    for (const name of ENRICHMENT_NAMES) {
      const rule = rules.find((r) => r.expr.includes(`absent(`) && r.expr.includes(`enrichment="${name}"`));
      expect(rule?.expr, name).toContain("gatehouse_enrichment_worker_running");
    }
  });

  it("the checks are not vacuous: a syntax error, a misspelt metric and an unknown label value are found", () => {
    expect(problemsOf("sum(rate(gatehouse_decisions_total[5m]) >", metrics, source)[0]).toMatch(
      /syntax error/,
    );
    expect(problemsOf("rate(gatehouse_decision_total[5m])", metrics, source)).toEqual([
      "unknown metric gatehouse_decision_total",
    ]);
    expect(
      problemsOf('gatehouse_decisions_total{reason=~"deadline.exceeded|deadline.missed"}', metrics, source),
    ).toEqual(['reason="deadline.missed" is a value the code never gives']);
    expect(problemsOf('gatehouse_enrichment_queue_jobs{state="wait"}', metrics, source)).toEqual([
      'state="wait" is a value the code never gives',
    ]);
  });
});
