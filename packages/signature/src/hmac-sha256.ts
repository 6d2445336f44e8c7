import { hash } from "node:crypto";

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
const INNER_PAD = 0x36;
const OUTER_PAD = 0x5c;
/** Room kept for the message between calls; a longer message gets a buffer of its own, used once. */
const RETAINED_MESSAGE_BYTES = 64 * 1024;

/**
 * HMAC-SHA256 (RFC 2104) under one or more keys, computed with Node's one-shot `crypto.hash` over buffers
 * kept between calls: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ message)). `createHmac` makes a native object per call
 * (a weak handle every young-generation collection processes) and a new ArrayBuffer for each digest. On
 * the ingress at 3,000 requests/s (--trace-gc-nvp, quick bench) scavenges paused 1.0–2.0 ms with it and
 * 0.5–1.2 ms without; `npm run bench:micro` verifies in 2.3 µs against 3.5 (two secrets: 3.4 against 6.6).
 * The tests check every digest against `createHmac` and RFC 4231's vectors.
 */
export class HmacSha256 {
  /** Each key's K ⊕ ipad. */
  readonly #innerPads: Buffer[];
  /** Each key's K ⊕ opad, followed by room for the inner digest. */
  readonly #outer: Buffer[];
  /** A key's inner pad, then the message. */
  #inner = Buffer.allocUnsafe(BLOCK_BYTES + 4 * 1024);

  constructor(keys: readonly Uint8Array[]) {
    this.#innerPads = [];
    this.#outer = [];
    for (const key of keys) {
      const block = Buffer.alloc(BLOCK_BYTES);
      // A key longer than a block is hashed first.
      block.set(key.length > BLOCK_BYTES ? hash("sha256", key, "buffer") : key);
      const inner = Buffer.allocUnsafe(BLOCK_BYTES);
      const outer = Buffer.allocUnsafe(BLOCK_BYTES + DIGEST_BYTES);
      for (let index = 0; index < BLOCK_BYTES; index++) {
        inner[index] = (block[index] as number) ^ INNER_PAD;
        outer[index] = (block[index] as number) ^ OUTER_PAD;
      }
      this.#innerPads.push(inner);
      this.#outer.push(outer);
    }
  }

  /**
   * The digest of `prefix` (UTF-8) followed by `body` (a string body is UTF-8) under each key, in the keys'
   * order: 32 characters each, one per byte ("latin1").
   */
  digests(prefix: string, body: Uint8Array | string): string[] {
    const bodyBytes = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    const length = BLOCK_BYTES + Buffer.byteLength(prefix) + bodyBytes;
    let inner = this.#inner;
    if (length > inner.length) {
      inner = Buffer.allocUnsafe(length);
      if (length <= BLOCK_BYTES + RETAINED_MESSAGE_BYTES) this.#inner = inner;
    }
    let at = BLOCK_BYTES + inner.write(prefix, BLOCK_BYTES);
    if (typeof body === "string") inner.write(body, at);
    else inner.set(body, at);
    at += bodyBytes;
    const message = inner.subarray(0, at);
    const digests: string[] = [];
    for (const [index, pad] of this.#innerPads.entries()) {
      const outer = this.#outer[index] as Buffer;
      pad.copy(inner, 0);
      // "binary" is Node's other name for "latin1": one character per byte, no ArrayBuffer for the digest.
      outer.write(hash("sha256", message, "binary"), BLOCK_BYTES, "latin1");
      digests.push(hash("sha256", outer, "binary"));
    }
    return digests;
  }
}
