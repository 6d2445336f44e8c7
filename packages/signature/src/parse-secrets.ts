/**
 * Reads the `SCALEKIT_INTERCEPTOR_SECRET` format: one or more secrets separated by commas (several while a
 * secret is being rotated). Whitespace around each is trimmed and empty items are dropped; base64 has no
 * comma, so the split is unambiguous. Decoding happens in `createVerifier`.
 */
export function parseSecrets(value: string): string[] {
  const secrets: string[] = [];
  for (const item of value.split(",")) {
    const secret = item.trim();
    if (secret.length > 0) secrets.push(secret);
  }
  return secrets;
}
