// How long and how hard: `--quick` (about two minutes) and the full run (about five minutes).

export interface BenchProfile {
  readonly name: "quick" | "full";
  /** Subjects warmed before the run and drawn from at random. */
  readonly workload: { readonly domains: number; readonly ips: number; readonly users: number };
  /** The fixed rate of the CPU-per-request windows (requests/s), and their connections. */
  readonly fixedRate: number;
  readonly connections: number;
  /** Length of one measured window, and of the unmeasured run before it. */
  readonly windowS: number;
  readonly warmupS: number;
  /** An unmeasured run of each server at the fixed rate before anything is measured (JIT warm-up). */
  readonly jitWarmupS: number;
  /** Rounds of bare → Gatehouse → hand-written at the fixed rate. */
  readonly rounds: number;
  /** Rounds of bare → Gatehouse at the fixed rate with autocannon's own (bursty) pacing. */
  readonly burstyRounds: number;
  /** Closed-loop throughput runs: requests per run and connections. */
  readonly capacityRequests: number;
  readonly capacityConnections: number;
  /** Rounds of bare → Gatehouse → hand-written at `lowRate`, a rate the hand-written endpoint sustains too. */
  readonly lowRounds: number;
  readonly lowRate: number;
  /**
   * Rounds of bare → Gatehouse and Gatehouse with slow providers (in turn first) → hand-written, at half of
   * Gatehouse's throughput. Even, so each of the two comes first as often as second: in two placebo runs
   * (the providers left at 50 ms for the "slowed" window, 4 rounds each) the second of the two back-to-back
   * windows had the higher p99 in 4 of 4 rounds in one (11.2–12.7 ms against 3.4–6.9) and the first in 3 of
   * 4 in the other — on this VM the order moves the p99 as much as anything, and an odd count gives one order
   * a round more.
   */
  readonly latencyRounds: number;
  readonly sessionRounds: number;
  /** The cold burst: new domains at once (one request each), new IPs among them, connections. */
  readonly burst: number;
  readonly burstIps: number;
  readonly burstConnections: number;
  readonly burstDrainTimeoutS: number;
  /** Everything is killed after this long, whatever happens. */
  readonly globalTimeoutS: number;
}

export const PROFILES: Record<BenchProfile["name"], BenchProfile> = {
  quick: {
    name: "quick",
    workload: { domains: 500, ips: 500, users: 500 },
    fixedRate: 3_000,
    connections: 32,
    windowS: 3,
    warmupS: 1,
    jitWarmupS: 2,
    rounds: 2,
    burstyRounds: 1,
    lowRounds: 1,
    lowRate: 500,
    capacityRequests: 20_000,
    capacityConnections: 64,
    latencyRounds: 2,
    sessionRounds: 1,
    burst: 2_000,
    burstIps: 100,
    burstConnections: 2_000,
    burstDrainTimeoutS: 60,
    globalTimeoutS: 240,
  },
  full: {
    name: "full",
    workload: { domains: 2_000, ips: 2_000, users: 2_000 },
    fixedRate: 3_000,
    connections: 32,
    windowS: 5,
    // Two seconds: Gatehouse is idle while the other servers are measured, and its copies of facts not asked
    // for in their last quarter expire (by design); a first second leaves ~22% of the 4,000 subjects
    // untouched at 3,000 req/s, two seconds ~5%, so the measured part starts nearer the steady state.
    warmupS: 2,
    jitWarmupS: 3,
    rounds: 3,
    burstyRounds: 2,
    lowRounds: 2,
    lowRate: 500,
    capacityRequests: 40_000,
    capacityConnections: 64,
    latencyRounds: 4,
    sessionRounds: 2,
    burst: 10_000,
    burstIps: 500,
    burstConnections: 10_000,
    burstDrainTimeoutS: 120,
    globalTimeoutS: 480,
  },
};

/**
 * Connections for the hand-written endpoint at `rate`: it holds each request for the providers' latency,
 * so it needs rate × latency requests in flight (with a margin) to be offered the same rate at all.
 */
export function handWrittenConnections(rate: number, providerLatencyMs: number, minimum: number): number {
  return Math.max(minimum, Math.ceil((rate * (providerLatencyMs + 25) * 2) / 1000));
}
