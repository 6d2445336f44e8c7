/** One request's deadline guard: cancelled once its answer is decided. */
export interface Guard {
  cancel(): void;
}

type Entry = { readonly dueAt: number; fire: (() => void) | undefined };

/**
 * The deadline guards of the requests in flight, soonest first. One timer fires the earliest; so does every
 * `fireDue()`, which the request path calls wherever a piece of work starts: each new request, each
 * continuation after an await, each answer. A flood of work holds the event loop for hundreds of milliseconds
 * with no timer firing: a 10,000-connection burst stalled it 577, 910 and 620 ms in a row (the poll phase
 * serving thousands of sockets, then the continuations of thousands of Redis replies), and 2,000 answers went
 * out up to 700 ms past the deadline. The replies to 12,600 reads arriving together run as three waves of
 * microtasks — every read's continuation, then every evaluation's, then every answer's — and the last took
 * 744 ms (a 15,000-request burst): a call at the first only would fire nothing while the answers are written.
 * A guard's callback answers synchronously, so an answer that is due goes out before the next piece of work,
 * not after the flood.
 */
export class Deadlines {
  // A binary min-heap on dueAt. A cancelled entry stays until it is due (then it is dropped): every entry is
  // due within one deadline, so the heap never holds more than the requests of one deadline's time.
  readonly #heap: Entry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #firing = false;

  /**
   * `lead()`: how much earlier than its due time a guard fires, read whenever guards are looked at — the
   * event loop's recent lateness (event-loop-lag.ts). Read then, not when a guard is added: the guards of
   * the first requests of a burst are added while the loop is still on time, and fall due once it is not.
   */
  constructor(
    private readonly onError: (error: unknown) => void,
    private readonly lead: () => number = () => 0,
  ) {}

  /**
   * Calls `fire` once `dueAt` (a `performance.now()` time) less the lead has passed, unless the guard is
   * cancelled first.
   */
  add(dueAt: number, fire: () => void): Guard {
    const entry: Entry = { dueAt, fire };
    this.#push(entry);
    if (dueAt < this.#timerAt) this.#arm();
    return {
      cancel: () => {
        entry.fire = undefined;
      },
    };
  }

  /**
   * Fires every guard due by `now`; a single comparison when none is. A call from inside a guard's callback
   * (its answer is work too) returns at once: the loop already firing goes on.
   */
  fireDue(now = performance.now()): void {
    const heap = this.#heap;
    if (this.#firing || heap.length === 0) return;
    const horizon = now + this.lead();
    if ((heap[0] as Entry).dueAt > horizon) return;
    this.#firing = true;
    try {
      while (heap.length > 0 && (heap[0] as Entry).dueAt <= horizon) {
        const entry = this.#pop();
        const fire = entry.fire;
        entry.fire = undefined;
        if (!fire) continue;
        try {
          fire();
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.#firing = false;
    }
    this.#arm();
  }

  /** Guards not yet fired nor dropped (cancelled ones included until they are due). */
  get size(): number {
    return this.#heap.length;
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #arm(): void {
    const next = this.#heap[0]?.dueAt ?? Number.POSITIVE_INFINITY;
    if (next === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer =
      next === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(
            () => {
              this.#timerAt = Number.POSITIVE_INFINITY;
              this.#timer = undefined;
              this.fireDue();
              this.#arm();
            },
            Math.max(0, next - this.lead() - performance.now()),
          );
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let at = heap.push(entry) - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((heap[parent] as Entry).dueAt <= entry.dueAt) break;
      heap[at] = heap[parent] as Entry;
      at = parent;
    }
    heap[at] = entry;
  }

  #pop(): Entry {
    const heap = this.#heap;
    const top = heap[0] as Entry;
    const last = heap.pop() as Entry;
    if (heap.length === 0) return top;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= heap.length) break;
      const right = child + 1;
      if (right < heap.length && (heap[right] as Entry).dueAt < (heap[child] as Entry).dueAt) child = right;
      if ((heap[child] as Entry).dueAt >= last.dueAt) break;
      heap[at] = heap[child] as Entry;
      at = child;
    }
    heap[at] = last;
    return top;
  }
}
