import { extname } from "node:path";
import { CsvError, parse } from "csv-parse/sync";
import { UsageError } from "./errors/usage-error.js";
import type { FileProblem } from "./file-problems.js";
import { readTextFile } from "./read-text-file.js";

/** The two lists of the admin API's bulk body, and of a facts file. */
export type FactList = "organizations" | "users";

/** One record read from a facts file, and where it was: `line 5` (CSV) or `organizations[3]` (JSON). */
export interface FactRecord {
  list: FactList;
  body: Record<string, unknown>;
  where: string;
}

export interface FactsFile {
  records: FactRecord[];
  problems: FileProblem[];
}

/** CSV columns: `kind` and `id` are required, the others optional; an empty cell leaves the field out. */
const CSV_COLUMNS = ["kind", "id", "memberCount", "allowedDomains", "externalId", "claims"] as const;
const LIST_OF_KIND: Record<string, FactList> = { organization: "organizations", user: "users" };

/**
 * Reads a facts file: `.json` (`{ "organizations": [...], "users": [...] }`, the admin API's bulk body) or
 * `.csv` (one row per organization or user, columns {@link CSV_COLUMNS}). A file that cannot be read or parsed
 * throws a {@link UsageError}; records with problems of their own are listed in `problems`.
 */
export function readFactsFile(path: string): FactsFile {
  const text = readTextFile(path);
  const type = extname(path).toLowerCase();
  if (type === ".json") return parseFactsJson(text, path);
  if (type === ".csv") return parseFactsCsv(text, path);
  throw new UsageError(`${path}: expected a .json or .csv file`);
}

export function parseFactsJson(text: string, name = "the file"): FactsFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${name}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${name}: expected an object { "organizations": [...], "users": [...] }`);
  }
  const records: FactRecord[] = [];
  const problems: FileProblem[] = [];
  for (const [field, list] of Object.entries(value)) {
    if (field !== "organizations" && field !== "users") {
      problems.push({ where: field, message: 'unknown field: expected "organizations" and "users"' });
    } else if (!Array.isArray(list)) {
      problems.push({ where: field, message: "must be an array" });
    } else {
      list.forEach((body: unknown, index) => {
        const where = `${field}[${index}]`;
        if (typeof body === "object" && body !== null && !Array.isArray(body)) {
          records.push({ list: field, body: body as Record<string, unknown>, where });
        } else {
          problems.push({ where, message: "must be an object with an id" });
        }
      });
    }
  }
  return { records, problems };
}

/** A CSV cell as the admin API wants it; undefined for an empty cell. */
function csvField(column: string, cell: string): { value?: unknown; problem?: string } {
  if (cell === "") return {};
  switch (column) {
    case "memberCount": {
      // Anything but a number goes as text, so the API names the problem with the others.
      const count = Number(cell);
      return { value: Number.isFinite(count) ? count : cell };
    }
    case "allowedDomains":
      return { value: cell.split(/[;\s]+/).filter((domain) => domain !== "") };
    case "claims":
      try {
        return { value: JSON.parse(cell) };
      } catch (error) {
        return { problem: `claims: not valid JSON (${(error as Error).message})` };
      }
    default:
      return { value: cell };
  }
}

export function parseFactsCsv(text: string, name = "the file"): FactsFile {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parse(text, {
      bom: true,
      columns: (header: string[]) => {
        const unknown = header.find((column) => !(CSV_COLUMNS as readonly string[]).includes(column));
        if (unknown !== undefined) {
          throw new UsageError(
            `${name} line 1: unknown column "${unknown}" (expected ${CSV_COLUMNS.join(", ")})`,
          );
        }
        for (const required of ["kind", "id"]) {
          if (!header.includes(required)) {
            throw new UsageError(`${name} line 1: the header has no "${required}" column`);
          }
        }
        return header;
      },
      comment: "#",
      comment_no_infix: true,
      info: true,
      skip_empty_lines: true,
      trim: true,
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (error instanceof CsvError) throw new UsageError(`${name}: ${error.message}`);
    throw error;
  }
  const records: FactRecord[] = [];
  const problems: FileProblem[] = [];
  for (const { record, info } of rows) {
    // info.lines is the line a record ends on; a quoted cell may span lines.
    const newlines = Object.values(record).reduce((sum, cell) => sum + (cell.match(/\n/g)?.length ?? 0), 0);
    const where = `line ${info.lines - newlines}`;
    const list = Object.hasOwn(LIST_OF_KIND, record.kind ?? "") ? LIST_OF_KIND[record.kind ?? ""] : undefined;
    if (list === undefined) {
      problems.push({ where, message: `kind: "${record.kind}" is not organization or user` });
      continue;
    }
    const body: Record<string, unknown> = {};
    let ok = true;
    for (const [column, cell] of Object.entries(record)) {
      if (column === "kind") continue;
      const { value, problem } = csvField(column, cell);
      if (problem !== undefined) {
        problems.push({ where, message: problem });
        ok = false;
      } else if (value !== undefined) {
        body[column] = value;
      }
    }
    if (ok) records.push({ list, body, where });
  }
  return { records, problems };
}

/** Ids that appear twice in one list: the file would be ambiguous, so it is refused before anything is sent. */
export function duplicateIds(records: readonly FactRecord[]): FileProblem[] {
  const seen = new Map<string, string>();
  const problems: FileProblem[] = [];
  for (const { list, body, where } of records) {
    if (typeof body.id !== "string") continue;
    const key = `${list}\u0000${body.id}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, where);
    else problems.push({ where, message: `id "${body.id}" repeats ${first}` });
  }
  return problems;
}
