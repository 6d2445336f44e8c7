import { type AdminAnswer, AdminClient } from "./admin-client.js";
import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE } from "./exit-codes.js";
import { duplicateIds, type FactList, type FactRecord, readFactsFile } from "./facts-file.js";
import { type FileProblem, printProblems } from "./file-problems.js";
import { plural } from "./print.js";

/** Records per admin request; the API takes up to 10,000. */
const DEFAULT_BATCH = 1_000;
/** A batch is also cut at this many bytes of JSON, well under the API's 16 MiB body limit. */
const BATCH_MAX_BYTES = 4 * 1024 * 1024;

const options = {
  url: { type: "string" },
  ttl: { type: "string" },
  batch: { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  timeout: { type: "string" },
} as const;

const KINDS = { organization: "organizations", user: "users" } as const;

function positiveInt(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) {
    throw new UsageError(`${flag}: "${value}" must be a whole number from 1 to ${max}`, flag);
  }
  return number;
}

function client(url: string | undefined, timeout: string | undefined, env: CliEnv): AdminClient {
  const token = env.adminToken;
  if (token === undefined) {
    throw new UsageError(
      "no admin token: set GATEHOUSE_ADMIN_TOKEN to the ingress's (the admin API is off without one)",
      "GATEHOUSE_ADMIN_TOKEN",
    );
  }
  const base = url ?? env.defaultUrl;
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new UsageError(`--url: "${base}" is not an http:// or https:// URL`, "--url");
  }
  return new AdminClient({ url: base, token, timeoutMs: positiveInt(timeout, "--timeout", 600_000) });
}

function kindOf(value: string | undefined): keyof typeof KINDS {
  if (value === "organization" || value === "user") return value;
  throw new UsageError(
    `expected organization or user, got ${value === undefined ? "nothing" : `"${value}"`}`,
  );
}

/** Cuts the records into requests of at most `size` records and {@link BATCH_MAX_BYTES}. */
export function batches(records: readonly FactRecord[], size: number): FactRecord[][] {
  const cut: FactRecord[][] = [];
  let current: FactRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const recordBytes = Buffer.byteLength(JSON.stringify(record.body));
    if (current.length > 0 && (current.length === size || bytes + recordBytes > BATCH_MAX_BYTES)) {
      cut.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += recordBytes;
  }
  if (current.length > 0) cut.push(current);
  return cut;
}

const inList = (batch: readonly FactRecord[], list: FactList) =>
  batch.filter((record) => record.list === list);

/** The admin API's problems, each put back at its place in the file (`line 7: allowedDomains[0]: …`). */
function fileProblems(batch: readonly FactRecord[], answer: AdminAnswer): FileProblem[] {
  const problems = Array.isArray(answer.body?.problems) ? answer.body.problems : [];
  return problems.map((problem: { path?: string; message?: string; list?: FactList; index?: number }) => {
    const record =
      problem.list && problem.index !== undefined ? inList(batch, problem.list)[problem.index] : undefined;
    if (record === undefined) return { where: problem.path || "the request", message: problem.message ?? "" };
    const field = (problem.path ?? "").slice(`${problem.list}[${problem.index}]`.length).replace(/^\./, "");
    return { where: record.where, message: field ? `${field}: ${problem.message}` : (problem.message ?? "") };
  });
}

const inFile = (file: string, problems: readonly FileProblem[]) =>
  problems.map((problem) => ({ file, problem }));

async function load(file: string, flags: Flags, env: CliEnv, io: CliIo): Promise<number> {
  const { records, problems } = readFactsFile(file);
  const found = [...problems, ...duplicateIds(records)];
  if (found.length > 0) {
    printProblems(io, inFile(file, found), "written");
    return EXIT_USAGE;
  }
  const admin = client(flags.url, flags.timeout, env);
  const ttlSeconds = positiveInt(flags.ttl, "--ttl", 366 * 24 * 3600);
  const cut = batches(records, positiveInt(flags.batch, "--batch", 10_000) ?? DEFAULT_BATCH);
  const post = async (batch: FactRecord[], dryRun: boolean) => {
    const body = {
      organizations: inList(batch, "organizations").map((record) => record.body),
      users: inList(batch, "users").map((record) => record.body),
      dryRun,
      ...(ttlSeconds !== undefined && { ttlSeconds }),
    };
    return admin.request("POST", "/facts", body);
  };

  // First every batch is checked without writing, so a bad record anywhere in the file writes nothing at all.
  const invalid: FileProblem[] = [];
  let counted = 0;
  for (const batch of cut) {
    const answer = await post(batch, true);
    if (answer.status === 400) {
      invalid.push(...fileProblems(batch, answer));
      counted += typeof answer.body?.problemCount === "number" ? answer.body.problemCount : 1;
    } else if (answer.status !== 200) {
      throw admin.failure(answer);
    }
  }
  if (counted > 0) {
    printProblems(io, inFile(file, invalid), "written", counted);
    return EXIT_USAGE;
  }

  const organizations = inList(records, "organizations").length;
  const users = records.length - organizations;
  let written = 0;
  if (!flags["dry-run"]) {
    for (const batch of cut) {
      const answer = await post(batch, false).catch((error: Error) => {
        if (written > 0)
          error.message += ` (${plural(written, "record")} written before; loading again is safe)`;
        throw error;
      });
      if (answer.status !== 200) throw admin.failure(answer);
      written += batch.length;
    }
  }
  const summary = {
    file,
    organizations,
    users,
    requests: cut.length,
    written,
    dryRun: flags["dry-run"] ?? false,
  };
  if (flags.json) {
    io.stdout(`${JSON.stringify(summary)}\n`);
  } else {
    const what = `${plural(organizations, "organization")} and ${plural(users, "user")}`;
    io.stdout(
      flags["dry-run"]
        ? `${file}: ${what}, all valid; nothing written (--dry-run)\n`
        : `${file}: wrote ${what} in ${plural(cut.length, "request")}\n`,
    );
  }
  return EXIT_OK;
}

async function getOrDelete(
  method: "GET" | "DELETE",
  positionals: string[],
  flags: Flags,
  env: CliEnv,
  io: CliIo,
): Promise<number> {
  const [kindArg, id, ...extra] = positionals;
  const kind = kindOf(kindArg);
  if (id === undefined)
    throw new UsageError(`missing <id>: e.g. gatehouse facts get ${kind} ${kind.slice(0, 3)}_123`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const admin = client(flags.url, flags.timeout, env);
  const answer = await admin.request(method, `/${KINDS[kind]}/${encodeURIComponent(id)}`);
  if (answer.status === 404 && answer.body?.error === "not_found") {
    io.stderr(`gatehouse: no ${kind} ${JSON.stringify(id)}\n`);
    return EXIT_NOT_FOUND;
  }
  if (method === "GET" && answer.status === 200) {
    io.stdout(`${JSON.stringify(answer.body, null, flags.json ? undefined : 2)}\n`);
    return EXIT_OK;
  }
  if (method === "DELETE" && answer.status === 204) {
    io.stdout(flags.json ? `${JSON.stringify({ kind, id, deleted: true })}\n` : `deleted ${kind} ${id}\n`);
    return EXIT_OK;
  }
  throw admin.failure(answer);
}

type Flags = NonNullable<ReturnType<typeof commandArgs<typeof options>>>["values"];

/**
 * `gatehouse facts load <file.json|file.csv>`, `gatehouse facts get|delete organization|user <id>`: the team's
 * facts about organizations and users, through the ingress's admin API.
 */
export async function factsCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(args, options, io);
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const [action, ...rest] = positionals;
  switch (action) {
    case "load": {
      const [file, ...extra] = rest;
      if (file === undefined) throw new UsageError("missing <file>: e.g. gatehouse facts load facts.csv");
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      return load(file, values, env, io);
    }
    case "get":
      return getOrDelete("GET", rest, values, env, io);
    case "delete":
      return getOrDelete("DELETE", rest, values, env, io);
    default:
      throw new UsageError(
        `${action === undefined ? "missing" : `unknown`} facts command${action === undefined ? "" : ` "${action}"`}: expected load, get or delete`,
      );
  }
}
