import { checkRedisEnv, redisEnvShape } from "@gatehouse/redis";
import { z } from "zod";

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Admin tokens accepted at once: the new one and those still in use while clients move to it. */
const MAX_ADMIN_TOKENS = 4;

/** Every setting of the ingress, parsed once at boot; nothing else reads process.env. */
export const ingressEnvSchema = z
  .object({
    PORT: int(8080, 0, 65_535),
    /** Interface to listen on. Default: all. */
    HOST: z.string().min(1).default("0.0.0.0"),
    ...redisEnvShape,
    /** One secret or several, comma-separated (rotation): `whsec_…`. */
    SCALEKIT_INTERCEPTOR_SECRET: z
      .string({ error: "is required (whsec_… from the Scalekit dashboard)" })
      .min(1),
    /** Path to the policy file (YAML or JSON); unset → the shipped default policy. */
    GATEHOUSE_POLICY: z.string().min(1).optional(),
    /** How often the policy file is checked for changes, in ms; a valid change applies without a restart. 0: never. */
    GATEHOUSE_POLICY_POLL_MS: int(1_000, 0, 3_600_000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Every request is answered within this many ms, whatever Redis or the workers do. */
    GATEHOUSE_DEADLINE_MS: int(1_500, 50, 10_000),
    /** Larger bodies get HTTP 413. */
    GATEHOUSE_BODY_LIMIT_BYTES: int(65_536, 1_024, 10_485_760),
    /**
     * A connection kept alive between requests is closed after this many ms idle. Keep it above the idle
     * timeout of whatever forwards Scalekit's requests (a load balancer, a proxy): the one that closes an idle
     * connection must be the proxy, or it may send a request on a connection the ingress is closing.
     */
    GATEHOUSE_KEEP_ALIVE_MS: int(72_000, 1_000, 7_200_000),
    /** Replay window of the signature timestamp, past and future. */
    GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS: int(300, 1, 3_600),
    /** A request-path Redis command that takes longer fails, and the trigger's fallback answers. */
    GATEHOUSE_REDIS_TIMEOUT_MS: int(250, 10, 5_000),
    /** Namespace of every key; lets several deployments share one Redis. */
    GATEHOUSE_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, "letters, digits, '_' or '-'")
      .default("gh"),
    /**
     * At most this many requests wait for a worker at once; beyond it a miss is answered at once by the
     * trigger's miss policy (a burst of new subjects must not pile up a second of waiting each).
     */
    GATEHOUSE_MAX_WAITING: int(2_000, 0, 1_000_000),
    /**
     * How long the ingress keeps a fact it read or heard announced in its own memory, in ms: a warm request
     * whose policy reads only enrichment facts is then answered without a Redis round trip (its id is claimed
     * after the reply). Announcements replace a copy at once; this bounds its age otherwise. 0: always read.
     */
    GATEHOUSE_LOCAL_FACTS_MS: int(30_000, 0, 3_600_000),
    /** Facts kept in memory at most (the oldest go first): about 0.5 KB each. */
    GATEHOUSE_LOCAL_FACTS_MAX: int(100_000, 1, 10_000_000),
    /** Approximate cap on the audit stream, in batches of records. */
    GATEHOUSE_AUDIT_MAXLEN: int(10_000, 100, 10_000_000),
    /**
     * Bearer token of the admin API (`/admin/v1/…`: facts about organizations and users, written by the team).
     * Unset (the default): the admin API is off and its routes answer 404. At least 32 characters, printable
     * ASCII without spaces or commas, e.g. `openssl rand -base64 32`. Several, comma-separated (`new,old`),
     * are all accepted: rotate by deploying `new,old`, moving the clients to `new`, then deploying `new`.
     */
    GATEHOUSE_ADMIN_TOKEN: z
      .string()
      .transform((value, context) => {
        const tokens = value.split(",").map((token) => token.trim());
        const which = (index: number) => (tokens.length > 1 ? `token ${index + 1} of ${tokens.length} ` : "");
        if (tokens.length > MAX_ADMIN_TOKENS) {
          context.addIssue({
            code: "custom",
            message: `at most ${MAX_ADMIN_TOKENS} tokens, comma-separated`,
          });
        }
        for (const [index, token] of tokens.entries()) {
          if (token.length < 32) {
            context.addIssue({
              code: "custom",
              message: `${which(index)}must be at least 32 characters (e.g. openssl rand -base64 32)`,
            });
          } else if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(token)) {
            context.addIssue({
              code: "custom",
              message: `${which(index)}must be printable ASCII without spaces or commas`,
            });
          }
        }
        return tokens;
      })
      .optional(),
  })
  .refine((env) => env.GATEHOUSE_REDIS_TIMEOUT_MS < env.GATEHOUSE_DEADLINE_MS, {
    path: ["GATEHOUSE_REDIS_TIMEOUT_MS"],
    message: "must be shorter than GATEHOUSE_DEADLINE_MS",
  })
  .superRefine(checkRedisEnv);

export type IngressEnv = z.infer<typeof ingressEnvSchema>;

/** Parses the environment or throws one error naming every bad setting. */
export function parseIngressEnv(source: Record<string, string | undefined>): IngressEnv {
  // An empty variable (`GATEHOUSE_POLICY=`) means unset, as it does to a shell user.
  const result = ingressEnvSchema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, value]) => value !== "")),
  );
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`invalid configuration:\n  ${problems.join("\n  ")}`);
}
