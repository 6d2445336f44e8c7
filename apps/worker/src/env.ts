import { ENRICHMENT_NAMES, ENRICHMENTS, type EnrichmentName } from "@gatehouse/enrichments";
import { checkRedisEnv, redisEnvShape } from "@gatehouse/redis";
import { z } from "zod";

const names = new Set<string>(ENRICHMENT_NAMES);

/** Every setting of the worker, parsed once at boot; nothing else reads process.env. */
export const workerEnvSchema = z
  .object({
    ...redisEnvShape,
    /** The worker's own HTTP port: /healthz, /readyz, /metrics. 0: any free port (the log line says which). */
    GATEHOUSE_WORKER_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
    /** Interface the worker's HTTP port listens on, as the ingress' PORT does. Default: all. */
    HOST: z.string().min(1).default("0.0.0.0"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    GATEHOUSE_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, "letters, digits, '_' or '-'")
      .default("gh"),
    /** Which registered enrichments this worker runs, comma-separated. Default: all of them. */
    GATEHOUSE_ENRICHMENTS: z
      .string()
      .optional()
      .transform((value) =>
        value
          ? value
              .split(",")
              .map((name) => name.trim())
              .filter(Boolean)
          : [...names],
      )
      .pipe(
        z
          .array(
            z.string().refine((name) => names.has(name), {
              error: (i) => `unknown enrichment "${i.input}" (known: ${[...names].join(", ")})`,
            }),
          )
          .min(1),
      )
      .transform((list) => list as EnrichmentName[]),
    /** Write the facts every enrichment knows without I/O (e.g. the disposable-domain list) at start. */
    GATEHOUSE_WARM: z
      .enum(["true", "false", "1", "0"])
      .default("true")
      .transform((value) => value === "true" || value === "1"),
    /**
     * A job's lock lasts this long and is renewed at half of it; a job whose worker died (its lock expired)
     * is found by the stalled-job check, which runs as often, and is run again by another worker.
     */
    GATEHOUSE_JOB_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  })
  .superRefine(checkRedisEnv);

export type WorkerEnv = z.infer<typeof workerEnvSchema> & {
  /** Each enabled enrichment's own settings (its `settings` schema), read from the same environment. */
  readonly settings: ReadonlyMap<EnrichmentName, unknown>;
};

function fail(issues: z.core.$ZodIssue[]): never {
  throw new Error(
    `invalid configuration:\n  ${issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n  ")}`,
  );
}

/** The worker's settings and its enrichments', all checked before anything starts; every bad one is named. */
export function parseWorkerEnv(source: Record<string, string | undefined>): WorkerEnv {
  // An empty variable (`GATEHOUSE_POLICY=`) means unset, as it does to a shell user.
  const result = workerEnvSchema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, value]) => value !== "")),
  );
  if (!result.success) fail(result.error.issues);
  const settings = new Map<EnrichmentName, unknown>();
  const issues: z.core.$ZodIssue[] = [];
  for (const name of result.data.GATEHOUSE_ENRICHMENTS) {
    const parsed = ENRICHMENTS[name].settings.safeParse(source);
    if (parsed.success) settings.set(name, parsed.data);
    else issues.push(...parsed.error.issues);
  }
  if (issues.length > 0) fail(issues);
  return { ...result.data, settings };
}
