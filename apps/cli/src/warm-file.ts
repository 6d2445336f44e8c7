import { createReadStream } from "node:fs";
import { extname } from "node:path";
import type { Readable } from "node:stream";
import type { InterceptorRequest } from "@gatehouse/contracts";
import { CsvError, parse } from "csv-parse";
import { UsageError } from "./errors/usage-error.js";
import type { FileProblem } from "./file-problems.js";
import { requestCarrying, SUBJECT_COLUMNS, type SubjectValues, valueOfLine } from "./subject-request.js";

/**
 * One line of a warm file, and where it was (`line 5`): the request that would carry its values, or what is
 * wrong with it.
 */
export type WarmLine =
  | { readonly where: string; readonly request: InterceptorRequest; readonly problems?: undefined }
  | { readonly where: string; readonly request?: undefined; readonly problems: FileProblem[] };

/**
 * Reads the subjects to warm, a line at a time as the file streams in (a file of millions of lines is never
 * held whole): `.txt` (or `-`, standard input), one email address or IP address per line (blank lines and
 * `#` comments skipped), or `.csv` with a header naming any of {@link SUBJECT_COLUMNS} (an empty cell leaves the
 * value out). Each line becomes the request that would carry its values — a POST_USER_AUTHENTICATION, the
 * trigger that requires none of them — checked as the ingress checks a request, so a value the ingress would
 * refuse is a problem here too. A file that cannot be read or parsed throws a {@link UsageError}.
 */
export async function* readWarmFile(path: string): AsyncGenerator<WarmLine> {
  const type = path === "-" ? ".txt" : extname(path).toLowerCase();
  if (type !== ".txt" && type !== ".csv")
    throw new UsageError(`${path}: expected a .txt (an email address or IP per line) or .csv file`);
  const source = path === "-" ? process.stdin : createReadStream(path);
  try {
    yield* type === ".txt" ? warmTextLines(source) : warmCsvLines(source, path);
  } catch (error) {
    // A system error opening or reading the file (ENOENT, EISDIR, EACCES…).
    const { code, syscall } = error as { code?: string; syscall?: string };
    if (syscall !== undefined) throw new UsageError(`${path}: cannot read the file (${code})`);
    throw error;
  } finally {
    if (source !== process.stdin) source.destroy();
  }
}

export async function* warmTextLines(source: Readable): AsyncGenerator<WarmLine> {
  source.setEncoding("utf8");
  let number = 0;
  let rest = "";
  const lineOf = (raw: string): WarmLine | undefined => {
    number++;
    const value = raw.trim();
    if (value === "" || value.startsWith("#")) return undefined;
    return warmLine(`line ${number}`, valueOfLine(value));
  };
  for await (const chunk of source) {
    const lines = (rest + (chunk as string)).split("\n");
    rest = lines.pop() as string;
    for (const raw of lines) {
      const line = lineOf(raw);
      if (line) yield line;
    }
  }
  const last = lineOf(rest);
  if (last) yield last;
}

export async function* warmCsvLines(source: Readable, name = "the file"): AsyncGenerator<WarmLine> {
  const parser = source.pipe(
    parse({
      columns: (header: string[]) => {
        const unknown = header.filter((column) => !Object.hasOwn(SUBJECT_COLUMNS, column));
        if (unknown.length > 0 || header.length === 0)
          throw new UsageError(
            `${name}: unknown column${unknown.length === 1 ? "" : "s"} ${unknown.map((c) => `"${c}"`).join(", ")}; ` +
              `the columns are ${Object.keys(SUBJECT_COLUMNS).join(", ")}`,
          );
        return header;
      },
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
    }),
  );
  // An error reading the file reaches the parser's iteration too.
  source.once("error", (error) => parser.destroy(error));
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: SubjectValues;
      info: { lines: number };
    }>)
      yield warmLine(`line ${info.lines}`, record);
  } catch (error) {
    if (error instanceof CsvError) throw new UsageError(`${name}: not valid CSV (${error.message})`);
    throw error;
  }
}

function warmLine(where: string, values: SubjectValues): WarmLine {
  const carried = requestCarrying(values);
  if (carried === undefined) return { where, problems: [{ where, message: "no value to warm" }] };
  return carried.ok
    ? { where, request: carried.request }
    : { where, problems: carried.problems.map((message) => ({ where, message })) };
}
