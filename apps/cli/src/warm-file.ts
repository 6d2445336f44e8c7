import { isIP } from "node:net";
import { extname } from "node:path";
import { type InterceptorRequest, parseInterceptorRequest } from "@gatehouse/contracts";
import { CsvError, parse } from "csv-parse/sync";
import { UsageError } from "./errors/usage-error.js";
import type { FileProblem } from "./file-problems.js";
import { readTextFile } from "./read-text-file.js";

/** One line of a warm file, as the request that would carry its values, and where it was (`line 5`). */
export interface WarmRow {
  readonly where: string;
  readonly request: InterceptorRequest;
}

export interface WarmFile {
  readonly rows: WarmRow[];
  readonly problems: FileProblem[];
}

/** CSV columns, named like `gatehouse send`'s flags, and the request field each fills. */
const CSV_COLUMNS = {
  email: "user_email",
  ip: "ip_address",
  org: "organization_id",
  user: "user_id",
  client: "client_id",
} as const;
type Column = keyof typeof CSV_COLUMNS;

/**
 * Reads the subjects to warm: `.txt` (or `-`, standard input), one email address or IP address per line
 * (blank lines and `#` comments skipped), or `.csv` with a header naming any of {@link CSV_COLUMNS} (an empty cell leaves the value
 * out). Each line becomes the request that would carry its values — a POST_USER_AUTHENTICATION, the trigger
 * that requires none of them — checked as the ingress checks a request, so a value the ingress would refuse
 * is a problem here too. A file that cannot be read or parsed throws a {@link UsageError}.
 */
export function readWarmFile(path: string): WarmFile {
  const text = readTextFile(path);
  const type = path === "-" ? ".txt" : extname(path).toLowerCase();
  if (type === ".txt") return parseWarmText(text);
  if (type === ".csv") return parseWarmCsv(text, path);
  throw new UsageError(`${path}: expected a .txt (an email address or IP per line) or .csv file`);
}

export function parseWarmText(text: string): WarmFile {
  const file: WarmFile = { rows: [], problems: [] };
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const value = raw.trim();
    if (value === "" || value.startsWith("#")) continue;
    const column: Column = isIP(value) !== 0 ? "ip" : "email";
    add(file, `line ${index + 1}`, { [column]: value });
  }
  return file;
}

export function parseWarmCsv(text: string, name = "the file"): WarmFile {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    if (error instanceof CsvError) throw new UsageError(`${name}: not valid CSV (${error.message})`);
    throw error;
  }
  const header = records[0] ? Object.keys(records[0]) : [];
  const unknown = header.filter((column) => !Object.hasOwn(CSV_COLUMNS, column));
  if (unknown.length > 0 || (records.length > 0 && header.length === 0)) {
    throw new UsageError(
      `${name}: unknown column${unknown.length === 1 ? "" : "s"} ${unknown.map((c) => `"${c}"`).join(", ")}; ` +
        `the columns are ${Object.keys(CSV_COLUMNS).join(", ")}`,
    );
  }
  const file: WarmFile = { rows: [], problems: [] };
  // Line 1 is the header.
  for (const [index, record] of records.entries()) add(file, `line ${index + 2}`, record);
  return file;
}

function add(file: WarmFile, where: string, values: Partial<Record<Column, string>>): void {
  const context: Record<string, string> = {};
  for (const [column, field] of Object.entries(CSV_COLUMNS)) {
    const value = values[column as Column];
    if (value) context[field] = value;
  }
  if (Object.keys(context).length === 0) {
    file.problems.push({ where, message: "no value to warm" });
    return;
  }
  const parsed = parseInterceptorRequest({
    trigger_point: "POST_USER_AUTHENTICATION",
    interceptor_context: context,
  });
  if (parsed.ok) {
    file.rows.push({ where, request: parsed.request });
    return;
  }
  const columnOf = (field: string) =>
    Object.entries(CSV_COLUMNS).find(([, name]) => field.includes(name))?.[0] ?? field;
  for (const issue of parsed.issues ?? [parsed.reason]) {
    const [field = "", message = issue] = issue.split(/: (.*)/s);
    file.problems.push({ where, message: `${columnOf(field)}: ${message}` });
  }
}
