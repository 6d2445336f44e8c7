// Where a run's results go: its own folder, test/bench/results/latest.* (ignored by git), and for a full
// run test/bench/latest/ (committed).
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/child-process.js";
import { latencyChart } from "./chart.js";
import { type BenchResults, formatMarkdown } from "./report.js";

export function writeResults(results: BenchResults, resultsDir: string): void {
  const chart = latencyChart(
    results.aggregates,
    results.machine,
    `${results.profile} profile, ${results.startedAt}; open-loop latency (from the due time when a connection was held, coordinated omission corrected)`,
  );
  writeFileSync(join(resultsDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(resultsDir, "chart.svg"), chart);
  writeFileSync(join(resultsDir, "results.md"), formatMarkdown(results, "chart.svg"));
  const latest = join(ROOT, "test/bench/results");
  copyFileSync(join(resultsDir, "results.json"), join(latest, "latest.json"));
  copyFileSync(join(resultsDir, "chart.svg"), join(latest, "latest.svg"));
  writeFileSync(join(latest, "latest.md"), formatMarkdown(results, "latest.svg"));
  // The full profile's figures are kept in the repository (test/bench/results/ is ignored).
  if (results.profile === "full" && !results.options.cpuProfile) {
    const kept = join(ROOT, "test/bench/latest");
    mkdirSync(kept, { recursive: true });
    writeFileSync(join(kept, "latest.svg"), chart);
    writeFileSync(join(kept, "latest.md"), formatMarkdown(results, "latest.svg"));
  }
}
