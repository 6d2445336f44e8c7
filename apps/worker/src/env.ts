import type { AnyEnrichment } from "@gatehouse/enrichment-sdk";
import { ENRICHMENT_NAMES, type EnrichmentName } from "@gatehouse/enrichments";
import { redisEnvShape } from "@gatehouse/redis";
import { z } from "zod";

const names = new Set<string>(ENRICHMENT_NAMES);

/** Every setting of the worker, parsed once at boot; nothing else reads process.env. */
export const workerEnvSchema = z.object({
  ...redisEnvShape,
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
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

function fail(issues: z.core.$ZodIssue[]): never {
  throw new Error(
    `invalid configuration:\n  ${issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n  ")}`,
  );
}

export function parseWorkerEnv(source: Record<string, string | undefined>): WorkerEnv {
  // An empty variable (`GATEHOUSE_POLICY=`) means unset, as it does to a shell user.
  const result = workerEnvSchema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, value]) => value !== "")),
  );
  return result.success ? result.data : fail(result.error.issues);
}

/** An enrichment's own settings, from the same environment. */
export function parseEnrichmentSettings(
  enrichment: AnyEnrichment,
  source: Record<string, string | undefined>,
): unknown {
  const result = enrichment.settings.safeParse(source);
  return result.success ? result.data : fail(result.error.issues);
}
