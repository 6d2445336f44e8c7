import type { SendResult } from "./send-request.js";
import type { PreparedRequest } from "./signed-request.js";

const SAFE = /^[A-Za-z0-9_\-.,:/=@%+]+$/;

/** `1 line`, `20,000 lines`: a count and its noun, for the commands' summaries. */
export const plural = (count: number, word: string) =>
  `${count.toLocaleString("en-US")} ${word}${count === 1 ? "" : "s"}`;

/** `12 s ago`, `3 min ago`, `in 2 h`, `5 days ago`: a time against now, for people. */
export function relativeTime(at: number, now: number): string {
  const seconds = Math.round(Math.abs(now - at) / 1000);
  const span =
    seconds < 120
      ? `${seconds} s`
      : seconds < 7_200
        ? `${Math.round(seconds / 60)} min`
        : seconds < 172_800
          ? `${Math.round(seconds / 3_600)} h`
          : `${Math.round(seconds / 86_400)} days`;
  return at > now ? `in ${span}` : `${span} ago`;
}

/**
 * Rows under a header, each column as wide as its widest cell (or `minWidths`, for lines printed one at a
 * time), two spaces apart; the columns in `right` are right-aligned (figures line up). Lines end without
 * trailing spaces.
 */
export function table(
  header: readonly string[],
  rows: readonly string[][],
  right: ReadonlySet<number> = new Set(),
  minWidths: readonly number[] = [],
): string[] {
  const widths = header.map((title, column) =>
    Math.max(minWidths[column] ?? 0, title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        right.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Quotes one word for a POSIX shell: bare when safe, otherwise single quotes with `'` spelled `'\''`. */
export function shellQuote(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function notes(request: PreparedRequest, now: number): string[] {
  const lines: string[] = [];
  const age = Math.floor(now / 1000) - request.timestamp;
  if (request.stale) lines.push(`note: signed with a timestamp ${age} s old (--stale)`);
  if (request.tampered) {
    const { offset, from, to } = request.tampered;
    lines.push(`note: byte ${offset} changed from "${from}" to "${to}" after signing (--tamper)`);
  }
  return lines;
}

/** The request as a human reads it: request line, headers, notes, pretty body. */
export function formatRequest(request: PreparedRequest, now = Date.now()): string {
  const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`);
  return [
    `${request.method} ${request.url}`,
    ...headers,
    ...notes(request, now),
    "",
    pretty(request.body),
  ].join("\n");
}

/** What `send` prints: the request, then the answer with its status, decision and latency. */
export function formatSendResult(result: SendResult, now = Date.now()): string {
  const decision = result.decision ?? "no decision";
  const lines = [
    formatRequest(result.request, now),
    "",
    `HTTP ${result.status}  ${decision}  ${result.latencyMs.toFixed(1)} ms`,
    result.answerText === "" ? "(empty body)" : pretty(result.answerText),
  ];
  if (!result.valid) {
    lines.push(
      "warning: not a valid interceptor answer; Scalekit would apply the fallback (fail open/closed)",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** What `send --json` prints: one JSON object, the request body as the exact string sent. */
export function formatSendJson(result: SendResult): string {
  return `${JSON.stringify(result)}\n`;
}

/** A ready-to-paste `curl` command line for a signed request. */
export function formatCurl(request: PreparedRequest): string {
  const parts = [
    `curl -sS -X ${request.method} ${shellQuote(request.url)}`,
    ...Object.entries(request.headers).map(([name, value]) => `-H ${shellQuote(`${name}: ${value}`)}`),
    `--data-binary ${shellQuote(request.body)}`,
  ];
  return `${parts.join(" \\\n  ")}\n`;
}
