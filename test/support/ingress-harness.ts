import { randomUUID } from "node:crypto";
import { type InterceptorAnswer, type RequestFixtureName, requestFixture } from "@gatehouse/contracts";
import { buildApp } from "@gatehouse/ingress/src/app.js";
import { type IngressEnv, parseIngressEnv } from "@gatehouse/ingress/src/env.js";
import type { Policy } from "@gatehouse/policy";
import { generateSecret, signedHeaders } from "@gatehouse/signature";
import type { FastifyInstance } from "fastify";

export const SECRET = generateSecret();

/** The email-domain fact of an ordinary domain with mail servers, disposable or not. */
export const emailFact = (domain: string, disposable: boolean) => ({
  domain,
  registrable: domain,
  disposable,
  freeMail: false,
  mx: "present" as const,
});

/** The ip-reputation fact's fields for an ordinary address that no IP database knows anything about. */
export const UNKNOWN_IP = {
  range: "unicast",
  asn: null,
  asOrganization: null,
  country: null,
  anonymous: null,
  hosting: null,
} as const;

/** An ingress env with its own key prefix, so tests never see each other's keys or queues. */
export function testEnv(redisUrl: string, overrides: Record<string, string> = {}): IngressEnv {
  return parseIngressEnv({
    REDIS_URL: redisUrl,
    SCALEKIT_INTERCEPTOR_SECRET: SECRET,
    LOG_LEVEL: "silent",
    GATEHOUSE_KEY_PREFIX: `t${randomUUID().slice(0, 8)}`,
    ...overrides,
  });
}

export async function testIngress(env: IngressEnv, policy?: Policy): Promise<FastifyInstance> {
  const app = await buildApp({ env, ...(policy && { policy }) });
  await app.ready();
  return app;
}

/** A documented body with the given context fields replaced. */
export function body(
  fixture: RequestFixtureName,
  context: Record<string, unknown> = {},
): Record<string, unknown> {
  const value = requestFixture(fixture) as { interceptor_context: Record<string, unknown> };
  Object.assign(value.interceptor_context, context);
  return value;
}

export interface Sent {
  status: number;
  answer: InterceptorAnswer;
  ms: number;
}

/** Signs and injects one request; `raw` lets a test send exactly the bytes it wants. */
export async function send(
  app: FastifyInstance,
  route: string,
  payload: Record<string, unknown> | string,
  options: { id?: string; timestamp?: number; secret?: string; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const raw = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers = signedHeaders({
    secret: options.secret ?? SECRET,
    body: raw,
    ...(options.id && { id: options.id }),
    ...(options.timestamp && { timestamp: options.timestamp }),
  });
  const started = performance.now();
  const response = await app.inject({
    method: "POST",
    url: `/auth/interceptors${route}`,
    headers: { "content-type": "application/json", ...headers, ...options.headers },
    payload: raw,
  });
  return { status: response.statusCode, answer: response.json(), ms: performance.now() - started };
}
