import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";

/**
 * How late this process' timers fire lately: the largest lag of a 20 ms heartbeat over about the last
 * second. Under a burst of thousands of connections the event loop runs timers late — the deadline guard
 * included — so the guards fire this much earlier, and a request is still answered inside its deadline.
 *
 * The heartbeat is Node's own (`monitorEventLoopDelay`: a libuv timer that records how long each interval
 * took, running no JavaScript); a JavaScript interval doing the same woke an idle ingress into JavaScript 50
 * times a second. With it and RecentAnswers' timer gone, an idle ingress' main thread went from 14-16 to 8-9
 * ms of CPU a second (docs/performance.md, session 30). One JavaScript timer a window turns the recorded
 * intervals into the window's lag.
 */
export class EventLoopLag {
  readonly #heartbeat: IntervalHistogram;
  readonly #heartbeatMs: number;
  #previousWindowMs = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly capMs = 250,
    heartbeatMs = 20,
    windowMs = 1_000,
  ) {
    this.#heartbeatMs = heartbeatMs;
    this.#heartbeat = monitorEventLoopDelay({ resolution: heartbeatMs });
    this.#heartbeat.enable();
    this.#timer = setInterval(() => {
      this.#previousWindowMs = this.#currentWindowMs();
      this.#heartbeat.reset();
    }, windowMs);
    this.#timer.unref();
  }

  /** Milliseconds to take off a timer that must not fire late (0 on an idle process, at most the cap). */
  get marginMs(): number {
    // The lag of the window just ended, and of the one in progress: a spike counts at once.
    return Math.min(this.capMs, Math.max(this.#previousWindowMs, this.#currentWindowMs()));
  }

  close(): void {
    clearInterval(this.#timer);
    this.#heartbeat.disable();
  }

  /** The longest heartbeat interval of this window (0 before the first), less the interval itself. */
  #currentWindowMs(): number {
    return Math.max(0, this.#heartbeat.max / 1e6 - this.#heartbeatMs);
  }
}
