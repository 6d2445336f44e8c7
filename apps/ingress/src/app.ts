import {
  AfterReplyWriter,
  cacheKeys,
  DecisionCache,
  FactAnnouncements,
  LocalFacts,
  WorkerPresence,
} from "@gatehouse/decision-cache";
import { Enqueuer } from "@gatehouse/enrichment-sdk";
import { ENRICHMENT_NAMES } from "@gatehouse/enrichments";
import { DEFAULT_POLICY, type Policy } from "@gatehouse/policy";
import {
  closeClient,
  createRedis,
  getMany,
  logConnectionErrors,
  redisTarget,
  whenReady,
} from "@gatehouse/redis";
import { createVerifier, parseSecrets } from "@gatehouse/signature";
import { createLogger, createRegistry, type Logger, lineAt, throttledLog } from "@gatehouse/telemetry";
import Fastify, { type FastifyInstance } from "fastify";
import { adminRoutes } from "./admin-routes.js";
import { clientErrorHandler } from "./client-errors.js";
import { Deadlines } from "./deadlines.js";
import type { DecisionEngine } from "./decide.js";
import type { IngressEnv } from "./env.js";
import { EventLoopLag } from "./event-loop-lag.js";
import { healthRoutes } from "./health-routes.js";
import { createIngressMetrics } from "./ingress-metrics.js";
import { interceptorRoutes } from "./interceptor-routes.js";
import { PolicySource } from "./policy-source.js";
import { RecentAnswers } from "./recent-answers.js";

export interface BuildAppOptions {
  env: IngressEnv;
  /** Defaults to a pino logger at `env.LOG_LEVEL`. */
  log?: Logger;
  /** Overrides the policy file (tests). */
  policy?: Policy;
}

/**
 * A request must arrive, headers and body, within this long; otherwise it is answered 408 with a DENY and
 * its connection closed (client-errors.ts), and a connection that sends nothing is closed. Scalekit gave up
 * on it long before (it waits 3-5 s); without a limit (Fastify's default) a client trickling a byte now and
 * then held a connection open for ever (slowloris). Node looks for such connections every second. A
 * connection kept alive between requests is not one: it stays open for GATEHOUSE_KEEP_ALIVE_MS.
 */
const REQUEST_ARRIVAL_MS = 10_000;

/** The ingress as a Fastify instance, separate from listening, so tests use `inject` and the real server alike. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { env } = options;
  const log = options.log ?? createLogger({ name: "ingress", level: env.LOG_LEVEL });
  const registry = createRegistry();
  const metrics = createIngressMetrics(registry);
  const policy =
    options.policy || !env.GATEHOUSE_POLICY
      ? PolicySource.fixed(options.policy ?? DEFAULT_POLICY, log)
      : await PolicySource.fromFile(env.GATEHOUSE_POLICY, log, (result) => metrics.policyReloads({ result }));
  const verifier = createVerifier({
    secrets: parseSecrets(env.SCALEKIT_INTERCEPTOR_SECRET),
    toleranceSeconds: env.GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS,
  });

  const connection = {
    ...redisTarget(env),
    commandTimeoutMs: env.GATEHOUSE_REDIS_TIMEOUT_MS,
    name: "ingress",
  };
  const redis = createRedis(connection, "request-path");
  const subscriber = createRedis(connection, "subscriber");
  // Work after the reply and enqueues: nothing waits for them, so they get their own socket (a batch of
  // audit records never delays a request's read) and time to finish on a busy Redis (a batch that timed
  // out on the client but ran on Redis would be written twice when retried).
  const backgroundRedis = createRedis({ ...connection, commandTimeoutMs: 2_000 }, "background");
  // Connection errors are expected while Redis is away; requests fall back on their own.
  logConnectionErrors([redis, subscriber, backgroundRedis], log, redisTarget(env));

  const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  const idempotencyTtlMs = 2 * env.GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS * 1000;
  const warnRereadFailed = throttledLog(lineAt(log, "warn"), 1_000);
  const local =
    env.GATEHOUSE_LOCAL_FACTS_MS > 0
      ? new LocalFacts({
          maxAgeMs: env.GATEHOUSE_LOCAL_FACTS_MS,
          maxEntries: env.GATEHOUSE_LOCAL_FACTS_MAX,
          // Copies in use are read again before they expire, off the request path.
          reread: (keys) => getMany(backgroundRedis, keys),
          onRereadError: (error) =>
            warnRereadFailed({ err: error }, "reading facts in memory again failed; they expire on time"),
        })
      : undefined;
  const announcements = new FactAnnouncements(subscriber, keys, { ...(local && { local }) });
  void announcements
    .start()
    .catch((error: unknown) => log.warn({ err: error }, "announcements not subscribed yet"));
  const enqueuer = new Enqueuer({ connection: backgroundRedis, keyPrefix: keys.prefix });
  const presence = new WorkerPresence(backgroundRedis, keys, ENRICHMENT_NAMES);
  const writer = new AfterReplyWriter(backgroundRedis, keys, {
    auditMaxLen: env.GATEHOUSE_AUDIT_MAXLEN,
    idempotencyTtlMs,
    onDrop: (count) => metrics.auditDropped({}, count),
    onRepeat: (entry) => metrics.repeats({ trigger: String(entry.audit.trigger) }),
  });
  const recent = new RecentAnswers();
  const lag = new EventLoopLag();
  const deadlines = new Deadlines(
    (error) => log.error({ err: error }, "answering at the deadline failed"),
    () => lag.marginMs,
  );

  const engine: DecisionEngine = {
    verifier,
    cache: new DecisionCache(redis, keys, { idempotencyTtlMs }),
    announcements,
    ...(local && { local }),
    enqueuer,
    presence,
    policy,
    recent,
    deadlineMs: env.GATEHOUSE_DEADLINE_MS,
    deadlines,
    lag,
    maxWaiting: env.GATEHOUSE_MAX_WAITING,
    metrics,
    log,
    warnRedisTrouble: throttledLog(lineAt(log, "warn"), 1_000),
  };

  // How long the start waits for Redis, at most: one bound for every client (started by the first to wait).
  let startupWait: Promise<void> | undefined;
  const waitAtStartup = () =>
    (startupWait ??= new Promise<void>((resolve) => setTimeout(resolve, 3_000).unref()));

  // No logger given to Fastify: with one, it does work for every request even when request logging is off —
  // a child logger per request (validated when the factory is ours), and 'finish'/'error' listeners on each
  // response to log its completion (lib/route.js, `hasLogger`). The ingress logs what concerns a request
  // itself, and errors in the handlers below. `npm run bench:ab` against the build with a logger: 0.957 of its
  // ingress CPU per request (docs/performance.md).
  const app: FastifyInstance = Fastify({
    bodyLimit: env.GATEHOUSE_BODY_LIMIT_BYTES,
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(metrics, log),
    requestTimeout: REQUEST_ARRIVAL_MS,
    keepAliveTimeout: env.GATEHOUSE_KEEP_ALIVE_MS,
    http: { headersTimeout: REQUEST_ARRIVAL_MS, connectionsCheckingInterval: 1_000 },
  });
  // The routes without an error handler of their own (the interceptor and admin routes have theirs): a
  // client's mistake is said back, a failure here is logged and not described to the caller.
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ statusCode: status, error: error.message });
    log.error({ err: error, url: request.url }, "request failed");
    return reply.code(status).send({ statusCode: status, error: "internal error" });
  });

  // A request in flight when closing starts is answered with `Connection: close`, so its keep-alive connection
  // ends with the answer. Otherwise the server's close waits for the client to drop the connection (Fastify's
  // keep-alive timeout is 72 s), and a SIGTERM under load ends in server.ts' forced exit (code 1, 10 s).
  // (Fastify itself closes the connections of requests that arrive after closing began.)
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  await app.register(interceptorRoutes, {
    prefix: "/auth/interceptors",
    engine,
    writer,
    bodyLimit: env.GATEHOUSE_BODY_LIMIT_BYTES,
    closing: () => closing,
  });
  // The other routes say it from an onSend hook, theirs alone: the interceptor routes set the header as they
  // answer, so their replies do not go through Fastify's hook runner.
  await app.register(async (scope) => {
    scope.addHook("onSend", (_request, reply, payload, done) => {
      if (closing) reply.header("connection", "close");
      done(null, payload);
    });
    await scope.register(healthRoutes, { redis, subscribed: () => announcements.subscribed, registry });
    // Facts about organizations and users, written by the team: off unless GATEHOUSE_ADMIN_TOKEN is set.
    if (env.GATEHOUSE_ADMIN_TOKEN !== undefined) {
      const tokens = env.GATEHOUSE_ADMIN_TOKEN;
      await scope.register(adminRoutes, {
        prefix: "/admin/v1",
        tokens,
        redis: redisTarget(env),
        keys,
        registry,
        log,
        startupWait: waitAtStartup,
      });
    }
  });

  // Give Redis a moment to connect and subscribe before listening (and to say which workers run), so the first
  // requests are not fallbacks; a Redis that is down at boot does not stop the ingress from starting (it
  // answers fallbacks and /readyz says 503; the subscriber subscribes when it connects). The subscription
  // waits for Redis like every other command of that client: inside the bound, or Fastify would fail the
  // start after its own 10 s.
  app.addHook("onReady", async () => {
    const subscribed = Promise.all([redis, subscriber, backgroundRedis].map(whenReady)).then(() =>
      Promise.all([announcements.start().catch(() => {}), presence.refresh()]),
    );
    await Promise.race([subscribed, waitAtStartup()]);
  });

  // One shutdown path: after the last in-flight request is answered, flush what is buffered and disconnect.
  app.addHook("onClose", async () => {
    policy.close();
    presence.close();
    lag.close();
    deadlines.close();
    announcements.close();
    local?.suspend();
    await writer.close();
    await enqueuer.close();
    await Promise.allSettled([redis, subscriber, backgroundRedis].map(closeClient));
  });
  policy.watch(env.GATEHOUSE_POLICY_POLL_MS);
  return app;
}
