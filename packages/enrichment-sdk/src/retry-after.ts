/** The pause a provider's `Retry-After` asks for when it says nothing usable. */
const DEFAULT_MS = 1_000;

/**
 * An HTTP `Retry-After` value in ms from `now`: delay-seconds (`120`) or an HTTP date; `fallbackMs` when it
 * is absent, unreadable or already past.
 */
export function retryAfterMs(
  value: string | null | undefined,
  now = Date.now(),
  fallbackMs = DEFAULT_MS,
): number {
  const text = value?.trim() ?? "";
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) || at <= now ? fallbackMs : at - now;
}
