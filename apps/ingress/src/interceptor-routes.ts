import { ROUTE_TRIGGERS, type TriggerPoint } from "@gatehouse/contracts";
import type { AfterReplyWriter } from "@gatehouse/decision-cache";
import { lineAt, throttledLogPerKey } from "@gatehouse/telemetry";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { unreadable } from "./answers.js";
import { type Decided, type DecisionEngine, decide } from "./decide.js";
import { auditRecord } from "./explanation.js";

export interface InterceptorRoutesOptions {
  engine: DecisionEngine;
  writer: AfterReplyWriter;
  bodyLimit: number;
  /** True once the server began closing: answers then end their keep-alive connection (see app.ts). */
  closing: () => boolean;
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * `POST /auth/interceptors/<trigger>` and `POST /auth/interceptors`. The body arrives as raw bytes (the
 * signature covers them exactly); every request gets HTTP 200 and an interceptor answer, except a body
 * over the limit (413, with a DENY body all the same).
 */
export const interceptorRoutes: FastifyPluginAsync<InterceptorRoutesOptions> = async (app, options) => {
  const { engine, writer, closing } = options;
  // What a flood of forged or broken requests would write once each: a line per reason a second, saying
  // how many it stands for (every one of them is counted in gatehouse_decisions_total and audited).
  const warnDenied = throttledLogPerKey(lineAt(engine.log, "warn"), 1_000);
  const infoRejected = throttledLogPerKey(lineAt(engine.log, "info"), 1_000);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: options.bodyLimit }, (_request, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((error: { statusCode?: number; code?: string }, _request, reply) => {
    const tooLarge = error.statusCode === 413;
    const answer = unreadable(tooLarge ? "body.too_large" : "request.malformed");
    engine.metrics.decisions({ trigger: "unknown", decision: answer.decision, reason: answer.reason });
    infoRejected(answer.reason)(
      { reason: answer.reason, code: error.code },
      "request rejected before verification",
    );
    return reply
      .code(tooLarge ? 413 : 200)
      .type(JSON_TYPE)
      .send(answer.json);
  });

  const afterReply = (decided: Decided, startedAt: number) => {
    const ms = performance.now() - startedAt;
    const { verdict, about } = decided;
    if (!decided.counted) {
      engine.metrics.repeats({ trigger: about.trigger });
      return;
    }
    engine.metrics.decisions({ trigger: about.trigger, decision: verdict.decision, reason: verdict.reason });
    engine.metrics.observeLatency(about.trigger, ms / 1000);
    const explanation = decided.explanation;
    for (const hit of explanation?.shadow ?? [])
      engine.metrics.shadowHits({ trigger: about.trigger, rule: hit.rule, decision: hit.decision });
    if (verdict.reason.startsWith("signature.") || verdict.reason.startsWith("body.")) {
      warnDenied(verdict.reason)(
        { interceptorId: about.interceptorId, reason: verdict.reason },
        "request denied before policy",
      );
    } else if (engine.log.isLevelEnabled("debug")) {
      engine.log.debug(
        { interceptorId: about.interceptorId, decision: verdict.decision, reason: verdict.reason, ms },
        "answered",
      );
    }
    // Field by field, no object spread: see decide.ts.
    const stored =
      decided.storeAnswer !== undefined && about.interceptorId !== undefined
        ? { interceptorId: about.interceptorId, json: verdict.json, claim: decided.storeAnswer === "claim" }
        : undefined;
    writer.push({ answer: stored, test: about.test, audit: auditRecord(decided, ms) });
  };

  const answer = (reply: FastifyReply, decided: Decided, startedAt: number) => {
    try {
      if (closing()) reply.header("connection", "close");
      reply.type(JSON_TYPE).send(decided.verdict.json);
      afterReply(decided, startedAt);
    } catch (error) {
      // What Fastify does with a rejected handler: the error handler above answers (a DENY body).
      if (!reply.sent) reply.send(error);
      else
        engine.log.error(
          { err: error, interceptorId: decided.about.interceptorId },
          "after-reply work failed",
        );
    }
  };
  // Neither async nor returning a promise: the handler returns nothing and sends the reply itself. Handing
  // Fastify a promise that resolves to the reply (a thenable) made every request's objects outlive a
  // scavenge: with the ingress cut down to verify-and-answer, 450 KB survived each scavenge against 15 KB
  // answering the same way without the promise (--trace-gc-nvp, this session's notes).
  const handler =
    (routeTrigger: TriggerPoint | undefined) => (request: FastifyRequest, reply: FastifyReply) => {
      const startedAt = performance.now();
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const decided = decide(engine, routeTrigger, request.headers, raw, startedAt, (later) =>
        answer(reply, later, startedAt),
      );
      if (decided === undefined) return;
      // Decided at once: written in the event loop's check phase, with the other answers decided in this
      // poll phase. Back-to-back quick benchmarks against answering inside the request's own tick (two
      // pairs, this session's notes): closed loop 6,600 and 9,960 against 3,300 and 4,000 req/s; at a fixed
      // 3,000 req/s 189-263 against 236-263 µs of ingress CPU per request.
      setImmediate(() => answer(reply, decided, startedAt));
    };

  for (const [slug, trigger] of Object.entries(ROUTE_TRIGGERS)) app.post(`/${slug}`, handler(trigger));
  app.post("/", handler(undefined));
};
