import { checkRedisEnv, redisEnvShape } from "@gatehouse/redis";
import { parseSecrets } from "@gatehouse/signature";
import { z } from "zod";

// The only file that reads process.env. A blank variable counts as unset.
const blank = (value: unknown) => (value === "" ? undefined : value);

const PORT_MESSAGE = "must be a port number from 1 to 65535";

const envSchema = z
  .object({
    GATEHOUSE_URL: z.preprocess(
      blank,
      z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    ),
    PORT: z.preprocess(
      blank,
      z.coerce
        .number({ error: PORT_MESSAGE })
        .int(PORT_MESSAGE)
        .min(1, PORT_MESSAGE)
        .max(65_535, PORT_MESSAGE)
        .default(8080),
    ),
    SCALEKIT_INTERCEPTOR_SECRET: z.preprocess(blank, z.string().optional()),
    GATEHOUSE_ADMIN_TOKEN: z.preprocess(blank, z.string().optional()),
    REDIS_URL: z.preprocess(
      blank,
      z
        .string()
        .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
        .default("redis://127.0.0.1:6379"),
    ),
    REDIS_CLUSTER_NODES: z.preprocess(blank, redisEnvShape.REDIS_CLUSTER_NODES),
    REDIS_SENTINELS: z.preprocess(blank, redisEnvShape.REDIS_SENTINELS),
    GATEHOUSE_KEY_PREFIX: z.preprocess(
      blank,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,32}$/, "letters, digits, '_' or '-', at most 32")
        .default("gh"),
    ),
  })
  .superRefine(checkRedisEnv)
  .transform((env) => ({
    /** Where `send` and `sign` point by default: `GATEHOUSE_URL`, else the local ingress on `PORT` (8080). */
    defaultUrl: env.GATEHOUSE_URL ?? `http://127.0.0.1:${env.PORT}`,
    /**
     * `SCALEKIT_INTERCEPTOR_SECRET` split for rotation; the CLI signs with the first. Its format is checked
     * when a command signs, so `gatehouse help` works whatever the secret.
     */
    secrets: parseSecrets(env.SCALEKIT_INTERCEPTOR_SECRET ?? ""),
    /**
     * `GATEHOUSE_ADMIN_TOKEN`: the ingress's admin token, which `facts` sends; checked by the ingress. Of a
     * list being rotated (`new,old`, as the ingress takes it), the first.
     */
    ...(env.GATEHOUSE_ADMIN_TOKEN !== undefined && {
      adminToken: (env.GATEHOUSE_ADMIN_TOKEN.split(",")[0] as string).trim(),
    }),
    /** The Redis `explain` reads the audit from: `REDIS_URL` (redis://127.0.0.1:6379), as the ingress uses. */
    redisUrl: env.REDIS_URL,
    /** `REDIS_CLUSTER_NODES`: a Redis Cluster's nodes (`host:port` or URLs), used instead of `REDIS_URL` when set. */
    ...(env.REDIS_CLUSTER_NODES && { redisClusterNodes: env.REDIS_CLUSTER_NODES }),
    /** `REDIS_SENTINELS`: Sentinels to ask for the master `REDIS_URL`'s host names. */
    ...(env.REDIS_SENTINELS && { redisSentinels: env.REDIS_SENTINELS }),
    /** `GATEHOUSE_KEY_PREFIX` (gh): the namespace of the ingress's keys. */
    keyPrefix: env.GATEHOUSE_KEY_PREFIX,
  }));

export type CliEnv = z.infer<typeof envSchema>;

export type ParsedEnv = { ok: true; env: CliEnv } | { ok: false; message: string };

/** Validates an environment; the message names every bad setting. */
export function parseEnv(source: Record<string, string | undefined>): ParsedEnv {
  const result = envSchema.safeParse(source);
  if (result.success) return { ok: true, env: result.data };
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  return { ok: false, message: `invalid environment: ${problems.join("; ")}` };
}

/** Reads this process's environment, once, at start-up. */
export function readEnv(): ParsedEnv {
  return parseEnv(process.env);
}
