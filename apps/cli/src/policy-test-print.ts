import type { CaseResult, CaseStatus, PolicyTestReport } from "./policy-test.js";

const LABELS: Record<CaseStatus, string> = { pass: "ok", fail: "FAIL", ran: "-", invalid: "INVALID" };
const WIDTH = Math.max(...Object.values(LABELS).map((label) => label.length)) + 1;

function title(result: CaseResult): string {
  return result.name === undefined ? result.file : `${result.file} "${result.name}"`;
}

/** The decision on one line: trigger, decision, what decided, reason, shadow hits, and the answer's payload. */
function decisionLine(result: CaseResult): string {
  const answer = result.answer;
  const parts = [
    result.trigger ?? "?",
    answer?.decision ?? "?",
    `rule=${result.decidedBy}`,
    `reason=${result.reason}`,
  ];
  if (result.shadow.length > 0) {
    parts.push(`shadow=[${result.shadow.map((hit) => `${hit.rule}→${hit.decision}`).join(", ")}]`);
  }
  const response = answer?.response;
  if (response?.claims) parts.push(`claims=${JSON.stringify(response.claims)}`);
  if (response?.create_organization_membership) {
    parts.push(`membership=${JSON.stringify(response.create_organization_membership)}`);
  }
  if (answer?.error?.message) parts.push(`message=${JSON.stringify(answer.error.message)}`);
  if (result.missing.length > 0) parts.push(`missing=${result.missing.join(",")}`);
  return parts.join("  ");
}

function caseLines(result: CaseResult): string[] {
  const label = LABELS[result.status].padEnd(WIDTH);
  const indent = " ".repeat(WIDTH + 2);
  if (result.status === "invalid") {
    return [`${label}${title(result)}`, ...result.problems.map((problem) => `${indent}${problem}`)];
  }
  return [
    `${label}${title(result)}  ${decisionLine(result)}`,
    ...result.problems.map((problem) => `${indent}${problem}`),
    ...result.notes.map((note) => `${indent}note: ${note}`),
  ];
}

/** What `policy test` prints: one line per case (more for failures and notes), then the totals. */
export function formatPolicyTest(report: PolicyTestReport): string {
  const { cases, passed, failed, invalid, ran } = report;
  const totals = [`${passed} passed`, `${failed} failed`, `${invalid} invalid`];
  if (ran > 0) totals.push(`${ran} without expectation`);
  const lines = [
    `policy ${report.policy} (version ${report.version})`,
    ...cases.flatMap(caseLines),
    "",
    `${cases.length} case${cases.length === 1 ? "" : "s"}: ${totals.join(", ")}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** What `policy test --json` prints: the whole report as one JSON object. */
export function formatPolicyTestJson(report: PolicyTestReport): string {
  return `${JSON.stringify(report)}\n`;
}
