import { timingSafeEqual } from "node:crypto";
import {
  type CacheKeys,
  type TeamFactEntry,
  type TeamFactKind,
  TeamFactStore,
  teamFactIdSchema,
  teamFactSchemas,
} from "@gatehouse/decision-cache";
import { closeClient, createRedis, type RedisTarget, whenReady } from "@gatehouse/redis";
import { type Logger, labelledCounter, type Registry } from "@gatehouse/telemetry";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { z } from "zod";

export interface AdminRoutesOptions {
  /** `GATEHOUSE_ADMIN_TOKEN`: requests must carry `Authorization: Bearer <token>`, any of these (a rotation). */
  tokens: readonly string[];
  /**
   * The deployment's Redis or Redis Cluster. The admin routes open their own connection: bulk writes get a
   * longer timeout than the request path's.
   */
  redis: RedisTarget;
  keys: CacheKeys;
  registry: Registry;
  log: Logger;
  /**
   * Resolves when the ingress stops waiting for Redis at start: the admin connection waits within the same
   * bound as the request path's, not after it.
   */
  startupWait: () => Promise<void>;
}

/** Most records one `POST /admin/v1/facts` may carry. */
export const ADMIN_BULK_MAX_RECORDS = 10_000;
/** Largest body of a `POST /admin/v1/facts`, in bytes. */
export const ADMIN_BULK_MAX_BYTES = 16 * 1024 * 1024;
/** Largest body of a PUT, in bytes: 1,000 allowed domains of 253 characters fit. */
export const ADMIN_PUT_MAX_BYTES = 1024 * 1024;
/** A 400 answer lists this many problems at most; `problemCount` says how many there were. */
export const ADMIN_PROBLEMS_LISTED = 20;
/** Longest TTL a write may ask for: one year. */
const MAX_TTL_SECONDS = 366 * 24 * 3600;
// Bulk writes are pipelines of hundreds of SETs; give Redis time, unlike the 250 ms of the request path.
const ADMIN_REDIS_TIMEOUT_MS = 10_000;

/** URL segment and bulk-body field of each kind. */
const PLURAL: Record<TeamFactKind, "organizations" | "users"> = {
  organization: "organizations",
  user: "users",
};

const ttlSchema = z.coerce.number().int().min(1).max(MAX_TTL_SECONDS);
const putQuerySchema = z.object({ ttlSeconds: ttlSchema.optional() });
const bulkSchema = z.strictObject({
  organizations: z.array(z.unknown()).optional(),
  users: z.array(z.unknown()).optional(),
  ttlSeconds: ttlSchema.optional(),
  dryRun: z.boolean().optional(),
});
const recordSchemas = {
  organization: teamFactSchemas.organization.extend({ id: teamFactIdSchema }),
  user: teamFactSchemas.user.extend({ id: teamFactIdSchema }),
};

/** One thing wrong with a request body; `path` names the field, e.g. `organizations[3].allowedDomains[1]`. */
export interface AdminProblem {
  path: string;
  message: string;
  /** For a bulk record: which list, and the record's index in it. */
  list?: "organizations" | "users";
  index?: number;
}

const ERROR_CODES: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  404: "not_found",
  413: "body_too_large",
  415: "unsupported_media_type",
};

function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i > 0 ? "." : ""}${String(part)}`))
    .join("");
}

function problemsOf(error: z.ZodError, base: readonly PropertyKey[] = []): AdminProblem[] {
  return error.issues.map((issue) => ({ path: fieldPath([...base, ...issue.path]), message: issue.message }));
}

function badRequest(reply: FastifyReply, problems: AdminProblem[], what = "the request") {
  return reply.code(400).send({
    error: ERROR_CODES[400],
    message: `${problems.length === 1 ? "1 problem" : `${problems.length} problems`} in ${what}; nothing was written`,
    problemCount: problems.length,
    problems: problems.slice(0, ADMIN_PROBLEMS_LISTED),
  });
}

/** Validates every record of a bulk body; all of them or none. */
function checkBulk(body: z.output<typeof bulkSchema>): {
  entries: TeamFactEntry[];
  problems: AdminProblem[];
} {
  const entries: TeamFactEntry[] = [];
  const problems: AdminProblem[] = [];
  for (const kind of ["organization", "user"] as const) {
    const list = PLURAL[kind];
    const firstIndexOf = new Map<string, number>();
    (body[list] ?? []).forEach((record, index) => {
      const parsed = recordSchemas[kind].safeParse(record);
      if (!parsed.success) {
        for (const problem of problemsOf(parsed.error, [list, index]))
          problems.push({ ...problem, list, index });
        return;
      }
      const { id, ...fact } = parsed.data;
      const first = firstIndexOf.get(id);
      if (first !== undefined) {
        problems.push({
          path: `${list}[${index}].id`,
          message: `repeats the id of ${list}[${first}]`,
          list,
          index,
        });
        return;
      }
      firstIndexOf.set(id, index);
      entries.push({ kind, id, fact } as TeamFactEntry);
    });
  }
  return { entries, problems };
}

/**
 * The admin API: facts about organizations and users, written by the team. Registered only when
 * `GATEHOUSE_ADMIN_TOKEN` is set, under `/admin/v1`:
 * `PUT|GET|DELETE /organizations/<id>`, `PUT|GET|DELETE /users/<id>` (the id URL-encoded), `POST /facts`
 * (bulk, all or nothing).
 * Every request needs `Authorization: Bearer <token>`; bodies must be `application/json`.
 */
export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, options) => {
  const accepted = options.tokens.map((token) => Buffer.from(token));
  const redis = createRedis(
    { ...options.redis, commandTimeoutMs: ADMIN_REDIS_TIMEOUT_MS, name: "ingress-admin" },
    "request-path",
  );
  // One warning per outage, not one per reconnection attempt.
  let outage = false;
  redis.on("error", (error: Error) => {
    if (!outage) options.log.warn({ err: error.message }, "admin redis connection error");
    outage = true;
  });
  redis.on("ready", () => {
    outage = false;
  });
  const store = new TeamFactStore(redis, options.keys);
  const requests = labelledCounter(
    options.registry,
    "gatehouse_admin_requests_total",
    "Admin API requests, by method, route and HTTP status.",
    ["method", "route", "status"],
  );
  const written = labelledCounter(
    options.registry,
    "gatehouse_team_facts_written_total",
    "Team facts written through the admin API, by kind.",
    ["kind"],
  );

  app.addHook("onReady", async () => {
    await Promise.race([whenReady(redis), options.startupWait()]);
  });
  app.addHook("onClose", async () => {
    await closeClient(redis);
  });

  // Authentication first (nothing else is said to a caller without the token), then the media type, both
  // before the body is read. The token is compared in constant time and never logged.
  app.addHook("onRequest", async (request, reply) => {
    const given = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? "")?.[1];
    const givenBytes = Buffer.from(given ?? "");
    let valid = false;
    for (const expected of accepted) {
      if (givenBytes.length === expected.length && timingSafeEqual(givenBytes, expected)) valid = true;
    }
    if (!valid) {
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="gatehouse-admin"')
        .send({ error: ERROR_CODES[401], message: "send Authorization: Bearer <GATEHOUSE_ADMIN_TOKEN>" });
    }
    if (
      (request.method === "PUT" || request.method === "POST") &&
      !/^application\/json\s*(;|$)/i.test(request.headers["content-type"] ?? "")
    ) {
      return reply
        .code(415)
        .send({ error: ERROR_CODES[415], message: "send the body as Content-Type: application/json" });
    }
  });

  app.addHook("onResponse", async (request, reply) => {
    requests({
      method: request.method,
      route: request.routeOptions.url ?? "unknown",
      status: String(reply.statusCode),
    });
  });

  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply
        .code(status)
        .send({ error: ERROR_CODES[status] ?? "invalid_request", message: error.message });
    }
    options.log.error({ err: error.message, route: request.routeOptions.url }, "admin request failed");
    // A read failed, or a write may or may not have happened: the caller retries either (PUT and DELETE are
    // idempotent, a bulk load's facts are overwritten whole).
    const message =
      request.method === "GET"
        ? "Redis did not answer; nothing was read"
        : "Redis did not answer; the write may not have happened";
    return reply.code(503).send({ error: "unavailable", message });
  });

  app.setNotFoundHandler((_request, reply) =>
    // Not "not_found", which says that the route exists and the record does not.
    reply.code(404).send({ error: "no_route", message: "no such admin route" }),
  );

  const parseId = (reply: FastifyReply, id: string) => {
    const parsed = teamFactIdSchema.safeParse(id);
    if (!parsed.success) badRequest(reply, problemsOf(parsed.error, ["id"]));
    return parsed.success ? parsed.data : undefined;
  };

  for (const kind of ["organization", "user"] as const) {
    // A wildcard, not `:id`: Fastify refuses parameters over 100 characters, and ids may have 256 (URL-encoded).
    const path = `/${PLURAL[kind]}/*`;
    type Params = { Params: { "*": string } };

    app.put<Params>(path, { bodyLimit: ADMIN_PUT_MAX_BYTES }, async (request, reply) => {
      const id = parseId(reply, request.params["*"]);
      if (id === undefined) return reply;
      const query = putQuerySchema.safeParse(request.query);
      if (!query.success) return badRequest(reply, problemsOf(query.error));
      const fact = teamFactSchemas[kind].safeParse(request.body);
      if (!fact.success) return badRequest(reply, problemsOf(fact.error), "the body");
      const stored = await store.put(kind, id, fact.data, { ttlSeconds: query.data.ttlSeconds });
      written({ kind });
      return reply.send({ id, ...stored });
    });

    app.get<Params>(path, async (request, reply) => {
      const id = parseId(reply, request.params["*"]);
      if (id === undefined) return reply;
      const stored = await store.get(kind, id);
      if (stored === undefined)
        return reply.code(404).send({ error: ERROR_CODES[404], message: `no ${kind} ${id}` });
      return reply.send({ id, ...stored });
    });

    app.delete<Params>(path, async (request, reply) => {
      const id = parseId(reply, request.params["*"]);
      if (id === undefined) return reply;
      if (await store.delete(kind, id)) return reply.code(204).send();
      return reply.code(404).send({ error: ERROR_CODES[404], message: `no ${kind} ${id}` });
    });
  }

  app.post("/facts", { bodyLimit: ADMIN_BULK_MAX_BYTES }, async (request, reply) => {
    const body = bulkSchema.safeParse(request.body);
    if (!body.success) return badRequest(reply, problemsOf(body.error), "the body");
    const total = (body.data.organizations?.length ?? 0) + (body.data.users?.length ?? 0);
    if (total > ADMIN_BULK_MAX_RECORDS) {
      return badRequest(
        reply,
        [{ path: "", message: `${total} records: at most ${ADMIN_BULK_MAX_RECORDS} per request` }],
        "the body",
      );
    }
    const { entries, problems } = checkBulk(body.data);
    if (problems.length > 0) return badRequest(reply, problems, "the records");
    const counts = {
      organizations: body.data.organizations?.length ?? 0,
      users: body.data.users?.length ?? 0,
    };
    if (body.data.dryRun) return reply.send({ dryRun: true, written: 0, ...counts });
    await store.putMany(entries, { ttlSeconds: body.data.ttlSeconds });
    written({ kind: "organization" }, counts.organizations);
    written({ kind: "user" }, counts.users);
    options.log.info(counts, "team facts written");
    return reply.send({ dryRun: false, written: entries.length, ...counts });
  });
};
