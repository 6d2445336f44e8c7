/**
 * How late this process' timers fire lately: the largest lag of a 20 ms heartbeat over about the last
 * second. Under a burst of thousands of connections the event loop runs timers late — the deadline guard
 * included — so the guards fire this much earlier, and a request is still answered inside its deadline.
 */
export class EventLoopLag {
  #current = 0;
  #windowMax = 0;
  #beats = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly capMs = 250,
    heartbeatMs = 20,
    windowBeats = 50,
  ) {
    let expected = performance.now() + heartbeatMs;
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#windowMax = Math.max(this.#windowMax, now - expected);
      expected = now + heartbeatMs;
      // The lag of the window just ended, and of the one in progress: a spike counts at once.
      this.#current = Math.max(this.#current, this.#windowMax);
      if (++this.#beats >= windowBeats) {
        this.#current = this.#windowMax;
        this.#windowMax = 0;
        this.#beats = 0;
      }
    }, heartbeatMs);
    this.#timer.unref();
  }

  /** Milliseconds to take off a timer that must not fire late (0 on an idle process, at most the cap). */
  get marginMs(): number {
    return Math.min(this.capMs, this.#current);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
