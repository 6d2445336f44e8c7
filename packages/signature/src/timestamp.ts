// Digits only: no sign, no space, no exponent. 15 digits keep every value a safe integer; real timestamps
// have 10.
const TIMESTAMP = /^[0-9]{1,15}$/;

/** Unix seconds from an `interceptor-timestamp` header, or `undefined` when it is not all digits. */
export function parseTimestamp(value: string): number | undefined {
  return TIMESTAMP.test(value) ? Number(value) : undefined;
}
