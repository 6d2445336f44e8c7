// The ingress' resident memory, sampled every second through the run: it must stay flat under sustained
// load (RSS growth < 10% between the first and the last minute).
import { rssBytes } from "./cpu.js";
import { mean } from "./stats.js";

export interface RssSample {
  /** Epoch ms. */
  readonly at: number;
  readonly rss: number;
}

export interface MemoryResult {
  /** Where the comparison was taken: the sustained part of the run. */
  readonly fromAt: number;
  readonly toAt: number;
  /** Length of the first and last stretch compared (a minute, or a third of a shorter run). */
  readonly stretchS: number;
  readonly firstMb: number;
  readonly lastMb: number;
  readonly growthPct: number;
  readonly peakMb: number;
  readonly samples: number;
}

export class RssSampler {
  readonly samples: RssSample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 1_000) {
    const sample = () => {
      const rss = rssBytes(pid);
      if (rss !== undefined) this.samples.push({ at: Date.now(), rss });
    };
    sample();
    this.#timer = setInterval(sample, everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** First stretch against last stretch of [fromAt, toAt]. */
  compare(fromAt: number, toAt: number): MemoryResult {
    const spanS = (toAt - fromAt) / 1000;
    const stretchS = Math.max(1, Math.min(60, Math.floor(spanS / 3)));
    const inRange = this.samples.filter((s) => s.at >= fromAt && s.at <= toAt);
    const mb = (samples: RssSample[]) => mean(samples.map((s) => s.rss)) / 1_048_576;
    const firstMb = mb(inRange.filter((s) => s.at <= fromAt + stretchS * 1000));
    const lastMb = mb(inRange.filter((s) => s.at >= toAt - stretchS * 1000));
    return {
      fromAt,
      toAt,
      stretchS,
      firstMb,
      lastMb,
      growthPct: ((lastMb - firstMb) / firstMb) * 100,
      peakMb: Math.max(...inRange.map((s) => s.rss)) / 1_048_576,
      samples: inRange.length,
    };
  }
}
