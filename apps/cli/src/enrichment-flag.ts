import type { AnyEnrichment } from "@gatehouse/enrichment-sdk";
import { UsageError } from "./errors/usage-error.js";

/**
 * The enrichments `--enrichment` names (repeatable), in that order; every registered one when it is not
 * given. An unknown name is a usage error listing the registered ones. The registry is loaded here, on use.
 */
export async function enrichmentsNamed(names: readonly string[] | undefined): Promise<AnyEnrichment[]> {
  const { ENRICHMENTS, enrichmentByName } = await import("@gatehouse/enrichments");
  return (names ?? Object.keys(ENRICHMENTS)).map((name) => {
    const enrichment = enrichmentByName(name);
    if (!enrichment)
      throw new UsageError(
        `--enrichment: no enrichment named "${name}" (registered: ${Object.keys(ENRICHMENTS).join(", ")})`,
        "--enrichment",
      );
    return enrichment;
  });
}
