import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DECISIONS } from "@gatehouse/contracts";
import { teamFactSchemas } from "@gatehouse/decision-cache";
import { ENRICHMENT_NAMES, ENRICHMENTS } from "@gatehouse/enrichments";
import type { PolicyFacts, TeamFacts } from "@gatehouse/policy";
import { z } from "zod";
import { UsageError } from "./errors/usage-error.js";

/** What a case expects; every field given must match the evaluation. */
export interface Expectation {
  decision: "ALLOW" | "DENY";
  /** A rule name, or "default", "onMiss", "shadow", "unknownTrigger" (see `decidedBy`). */
  rule?: string | undefined;
  reason?: string | undefined;
  /** Deep-equal to the answer's `response`; null: the answer has none. */
  response?: Record<string, unknown> | null | undefined;
  /** The names of the shadow hits, in order. */
  shadow?: string[] | undefined;
}

/** One request to evaluate, with the cached facts, team facts and velocity counts it is evaluated with. */
export interface PolicyCase {
  file: string;
  name?: string | undefined;
  /** Not validated yet: an invalid request is reported like the ingress would see it. */
  request: unknown;
  facts: PolicyFacts;
  team: TeamFacts;
  counts: Record<string, number>;
  expect?: Expectation | undefined;
}

export type LoadedCase =
  | { ok: true; testCase: PolicyCase }
  | { ok: false; file: string; name?: string | undefined; problems: string[] };

// A case names only the fields its rules read. A field left out matches no condition, like a fact that
// is not cached; a field the fact does not have is refused, so a typo is an error, not a silent no-match.
const partialFact = (schema: z.ZodType): z.ZodType =>
  schema instanceof z.ZodObject ? z.strictObject(schema.partial().shape) : schema;

const factsSchema = z.strictObject(
  Object.fromEntries(
    ENRICHMENT_NAMES.map((name) => [name, partialFact(ENRICHMENTS[name].fact).optional()]),
  ) as Record<string, z.ZodOptional<z.ZodType>>,
);

// Team facts as the team writes them; `updatedAt` too, so facts copied from an audit record are accepted.
const teamSchema = z.strictObject({
  organization: z
    .strictObject({ ...teamFactSchemas.organization.shape, updatedAt: z.number().optional() })
    .optional(),
  user: z.strictObject({ ...teamFactSchemas.user.shape, updatedAt: z.number().optional() }).optional(),
});

const countsSchema = z.record(
  z.string().regex(/^[A-Za-z]+:[1-9][0-9]*$/, 'a counter "<per>:<window in seconds>", e.g. "ip:600"'),
  z.number().int().min(0),
);

const expectSchema = z.strictObject({
  decision: z.enum(DECISIONS),
  rule: z.string().min(1).optional(),
  reason: z.string().min(1).optional(),
  response: z.record(z.string(), z.unknown()).nullable().optional(),
  shadow: z.array(z.string().min(1)).optional(),
});

const caseSchema = z.strictObject({
  name: z.string().min(1).optional(),
  request: z.looseObject({}, { error: "must be an interceptor request body (a JSON object)" }),
  facts: factsSchema.default({}),
  team: teamSchema.default({}),
  counts: countsSchema.default({}),
  expect: expectSchema.optional(),
});

function jsonFilesIn(dir: string): string[] {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => join(dir, entry.name))
    .sort();
  if (files.length === 0) throw new UsageError(`${dir}: no *.json case files in this directory`, "<case>");
  return files;
}

/** Each argument is a case file, or a directory whose `*.json` files are cases, in name order. */
export function caseFiles(args: readonly string[]): string[] {
  return args.flatMap((arg) => {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(arg).isDirectory();
    } catch (error) {
      const reason = (error as { code?: string }).code ?? String(error);
      throw new UsageError(`${arg}: no such case file or directory (${reason})`, "<case>");
    }
    return isDirectory ? jsonFilesIn(arg) : [arg];
  });
}

const issueLines = (error: z.ZodError) =>
  error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}: ${issue.message}`,
  );

/**
 * Reads one case file: a bare interceptor request body (it has `trigger_point`) or a case object
 * `{ name?, request, facts?, team?, counts?, expect? }`. Problems are values: the other cases still run.
 */
export function loadCase(file: string): LoadedCase {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    return { ok: false, file, problems: [`not a readable JSON file: ${(error as Error).message}`] };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, file, problems: ["must be a JSON object: a request body or a case"] };
  }
  if ("trigger_point" in value && !("request" in value)) {
    return { ok: true, testCase: { file, request: value, facts: {}, team: {}, counts: {} } };
  }
  const parsed = caseSchema.safeParse(value);
  if (!parsed.success) {
    const name = (value as { name?: unknown }).name;
    return {
      ok: false,
      file,
      ...(typeof name === "string" && { name }),
      problems: issueLines(parsed.error),
    };
  }
  const { name, request, facts, team, counts, expect } = parsed.data;
  return {
    ok: true,
    // The schemas above are the enrichments' and the team's own (partial), so these are the policy's shapes.
    testCase: { file, name, request, facts: facts as PolicyFacts, team: team as TeamFacts, counts, expect },
  };
}
