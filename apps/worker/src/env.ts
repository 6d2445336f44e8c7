import type { AnyEnrichment } from "@gatehouse/enrichment-sdk";
import { ENRICHMENT_NAMES, type EnrichmentName } from "@gatehouse/enrichments";
import { z } from "zod";

const names = new Set<string>(ENRICHMENT_NAMES);

/** Every setting of the worker, parsed once at boot; nothing else reads process.env. */
export const workerEnvSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .default("redis://127.0.0.1:6379"),
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
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

function fail(issues: z.core.$ZodIssue[]): never {
  throw new Error(
    `invalid configuration:\n  ${issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n  ")}`,
  );
}

export function parseWorkerEnv(source: Record<string, string | undefined>): WorkerEnv {
  const result = workerEnvSchema.safeParse(source);
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
