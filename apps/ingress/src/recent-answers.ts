/**
 * The answers this process is giving or has just given, by interceptor id, so a repeat that arrives before
 * the first answer reached Redis (it is written after the reply, within the writer's 20 ms flush) gets
 * exactly that answer: a promise of it while the first request is still waiting for Redis or for facts —
 * kept until it settles, however long that takes — then the answer's JSON for one to two generations. Two
 * generations, swapped by the first look once `generationMs` has passed: no timer at all, so an idle
 * ingress is not woken for them (a 50 ms interval cost ~1-2 ms of CPU a second there), and what is kept is
 * bounded by the request rate.
 *
 * Short generations (50 ms by default, still more than twice the writer's flush) keep settled answers out
 * of the old generation of V8's heap, which they reach when they outlive two scavenges: at 1 s, ~37 KB
 * promoted by each scavenge at 3,000 req/s, nearly all the ingress' promotion then, for the mark-compacts
 * to collect; at 100 ms, ~3 KB there, but 65 KB at 5,600 req/s, where scavenges come every ~95 ms; at
 * 50 ms, 4 KB (`npm run bench -- --quick --ingress-node-arg=--trace-gc-nvp`: `promoted=` of the steady
 * scavenges in the run's logs/ingress.log). A repeat after that is answered as any other (see decide.ts).
 */
export class RecentAnswers {
  readonly #pending = new Map<string, Promise<string>>();
  #current = new Map<string, string>();
  #previous = new Map<string, string>();
  #generationStart = performance.now();

  constructor(private readonly generationMs = 50) {}

  get(interceptorId: string): string | Promise<string> | undefined {
    this.#rotate();
    return (
      this.#pending.get(interceptorId) ??
      this.#current.get(interceptorId) ??
      this.#previous.get(interceptorId)
    );
  }

  /** The answer just given to `interceptorId`. */
  set(interceptorId: string, json: string): void {
    this.#rotate();
    this.#current.set(interceptorId, json);
  }

  /**
   * `interceptorId` is being answered: until the returned function is called with the answer, a repeat gets
   * a promise of it; from then on, the answer itself.
   */
  pending(interceptorId: string): (json: string) => void {
    let resolve: (json: string) => void = () => {};
    this.#pending.set(interceptorId, new Promise((settle) => (resolve = settle)));
    return (json) => {
      this.#pending.delete(interceptorId);
      this.set(interceptorId, json);
      resolve(json);
    };
  }

  /**
   * A generation's time is up: it becomes the previous one (and the previous is forgotten); two or more
   * generations' time, both are. An answer is kept at least `generationMs` after it was set.
   */
  #rotate(): void {
    const now = performance.now();
    const age = now - this.#generationStart;
    if (age < this.generationMs) return;
    this.#previous = age < 2 * this.generationMs ? this.#current : new Map();
    this.#current = new Map();
    this.#generationStart = now;
  }
}
