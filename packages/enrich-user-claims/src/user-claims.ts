import { defineEnrichment, EnrichmentError, RateLimitedError, retryAfterMs } from "@gatehouse/enrichment-sdk";
import { z } from "zod";

const input = z.object({
  userId: z.string().min(1),
  organizationId: z.string().min(1).optional(),
  email: z.string().optional(),
});

const fact = z.object({ claims: z.record(z.string(), z.unknown()) });

export type UserClaimsInput = z.infer<typeof input>;
export type UserClaimsFact = z.infer<typeof fact>;

const settings = z.object({
  /** The team's endpoint: POST {user_id, organization_id, email} → {claims: {...}}. Unset → no claims. */
  GATEHOUSE_CLAIMS_URL: z.url().optional(),
  /** Sent as `Authorization: Bearer <token>` when set. */
  GATEHOUSE_CLAIMS_TOKEN: z.string().min(1).optional(),
  /** At most this many calls a second to the claims service, from all the workers together. Unset: no cap. */
  GATEHOUSE_CLAIMS_MAX_PER_SECOND: z.coerce.number().int().min(1).max(100_000).optional(),
});

/**
 * The claims a team wants in a user's tokens, fetched from the team's own service and cached per user and
 * organization, so PRE_SESSION_CREATION answers from the cache. A 404 means "no claims" (a fact); a 5xx,
 * a timeout or a body that is not `{claims: {...}}` is a failure, retried and never cached; a 429 (or a 503
 * with `Retry-After`) pauses every worker's calls for the time it asks, without using up the job's attempts.
 */
export const userClaims = defineEnrichment({
  name: "user-claims",
  version: 1,
  input,
  fact,
  fromRequest(request) {
    const context = request.interceptor_context;
    if (!context.user_id) return undefined;
    return {
      userId: context.user_id,
      ...(context.organization_id != null && { organizationId: context.organization_id }),
      ...(context.user_email != null && { email: context.user_email }),
    };
  },
  subject: (claimsInput) => `${claimsInput.organizationId ?? "-"}:${claimsInput.userId}`,
  // Claims change when the team changes them; five minutes keeps them close without a call per login.
  ttlSeconds: 300,
  timeoutMs: 2_000,
  retry: { attempts: 3, backoffMs: 300 },
  concurrency: 16,
  settings,
  setup(config) {
    return {
      ...(config.GATEHOUSE_CLAIMS_MAX_PER_SECOND && {
        rateLimit: { max: config.GATEHOUSE_CLAIMS_MAX_PER_SECOND, perMs: 1_000 },
      }),
      async run(claimsInput, { signal }) {
        if (!config.GATEHOUSE_CLAIMS_URL) return { claims: {} };
        const response = await fetch(config.GATEHOUSE_CLAIMS_URL, {
          method: "POST",
          signal,
          headers: {
            "content-type": "application/json",
            ...(config.GATEHOUSE_CLAIMS_TOKEN && {
              authorization: `Bearer ${config.GATEHOUSE_CLAIMS_TOKEN}`,
            }),
          },
          body: JSON.stringify({
            user_id: claimsInput.userId,
            organization_id: claimsInput.organizationId ?? null,
            email: claimsInput.email ?? null,
          }),
        });
        if (response.status === 404) return { claims: {} };
        // "Too many requests", or unavailable for a time it names: the queue waits as long (at most a minute).
        const retryAfter = response.headers.get("retry-after");
        if (response.status === 429 || (response.status === 503 && retryAfter !== null)) {
          throw new RateLimitedError(
            "claims.rate_limited",
            `claims service answered ${response.status}: it asks for a pause`,
            retryAfterMs(retryAfter),
          );
        }
        if (!response.ok) {
          throw new EnrichmentError(
            "claims.http_status",
            `claims service answered ${response.status}`,
            true,
            {
              status: response.status,
            },
          );
        }
        const body = fact.safeParse(await response.json().catch(() => undefined));
        if (!body.success) {
          throw new EnrichmentError(
            "claims.bad_body",
            "claims service answered something other than {claims: {…}}",
            true,
          );
        }
        return body.data;
      },
    };
  },
});
