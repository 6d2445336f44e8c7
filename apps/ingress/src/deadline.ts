/**
 * Resolves with `work` or, if it has not settled after `ms`, with `onTimeout()` — whichever comes first.
 * A rejection of `work` resolves with `onError(error)`. Never rejects: the deadline guard of every request.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => T,
  onError: (error: unknown) => T,
): Promise<T> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(
      () => {
        settled = true;
        resolve(onTimeout());
      },
      Math.max(0, ms),
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // Past the deadline the request is answered already: a late failure is nobody's business.
        if (!settled) resolve(onError(error));
      },
    );
  });
}
