/**
 * The value of a header that must appear once (`interceptor-id`, `interceptor-timestamp`). A one-element
 * array is unwrapped; a header sent several times has no single value to verify and counts as missing, like
 * an empty or non-string value.
 */
export function singleHeaderValue(value: unknown): string | undefined {
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (Array.isArray(value) && value.length === 1) return singleHeaderValue(value[0]);
  return undefined;
}

/**
 * The signature header. Duplicates are joined with a space: each holds complete `v1,…` entries, so the
 * request is valid if any entry of any copy matches. At most `maxParts` copies are read (the verifier never
 * examines more entries than that anyway). Empty or non-string values count as missing.
 */
export function joinedHeaderValue(value: unknown, maxParts: number): string | undefined {
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (!Array.isArray(value)) return undefined;
  let joined: string | undefined;
  const parts = Math.min(value.length, maxParts);
  for (let index = 0; index < parts; index++) {
    const part: unknown = value[index];
    if (typeof part !== "string" || part.length === 0) continue;
    joined = joined === undefined ? part : `${joined} ${part}`;
  }
  return joined;
}
