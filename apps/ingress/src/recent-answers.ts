/**
 * Answers this process gave in the last one to two seconds, by interceptor id: a repeat that arrives
 * before the answer reached Redis (it is written after the reply, in batches) still gets exactly the
 * first answer. Two generations swapped every second: no timer per request, bounded by the request rate.
 */
export class RecentAnswers {
  #current = new Map<string, Promise<string>>();
  #previous = new Map<string, Promise<string>>();
  readonly #timer: NodeJS.Timeout;

  constructor(generationMs = 1_000) {
    this.#timer = setInterval(() => {
      this.#previous = this.#current;
      this.#current = new Map();
    }, generationMs).unref();
  }

  get(interceptorId: string): Promise<string> | undefined {
    return this.#current.get(interceptorId) ?? this.#previous.get(interceptorId);
  }

  set(interceptorId: string, answer: Promise<string>): void {
    this.#current.set(interceptorId, answer);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
