// Renders a run's results.json again with the current report code (ratios, targets, table, chart), without
// running anything: `npx tsx test/bench/render.ts test/bench/results/<timestamp>/results.json`.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeResults } from "./output.js";
import { type BenchResults, formatText } from "./report.js";
import { computeRatios, evaluateTargets } from "./targets.js";
import { aggregate } from "./windows.js";

const file = process.argv[2];
if (!file) {
  console.error("usage: tsx test/bench/render.ts <results.json>");
  process.exit(64);
}
const stored = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
const aggregates = aggregate(stored.windows);
const ratios = computeRatios(stored.windows);
const results: BenchResults = {
  ...stored,
  aggregates,
  ratios,
  targets: evaluateTargets({ ratios, aggregates, burst: stored.burst, memory: stored.memory }),
};
writeResults(results, dirname(file));
console.log(formatText(results));
