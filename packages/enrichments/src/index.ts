export { ENRICHMENT_NAMES, ENRICHMENTS, type EnrichmentName, enrichmentByName } from "./registry.js";
