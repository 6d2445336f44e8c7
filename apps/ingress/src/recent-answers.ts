type Answer = string | Promise<string>;

/**
 * Answers this process gave in the last one to two seconds, by interceptor id — the answer's JSON, or a
 * promise of it while the first request is still waiting for Redis: a repeat that arrives before the answer
 * reached Redis (it is written after the reply, in batches) still gets exactly the first answer. Two
 * generations swapped every second: no timer per request, bounded by the request rate.
 */
export class RecentAnswers {
  #current = new Map<string, Answer>();
  #previous = new Map<string, Answer>();
  readonly #timer: NodeJS.Timeout;

  constructor(generationMs = 1_000) {
    this.#timer = setInterval(() => {
      this.#previous = this.#current;
      this.#current = new Map();
    }, generationMs).unref();
  }

  get(interceptorId: string): Answer | undefined {
    return this.#current.get(interceptorId) ?? this.#previous.get(interceptorId);
  }

  set(interceptorId: string, answer: Answer): void {
    this.#current.set(interceptorId, answer);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
