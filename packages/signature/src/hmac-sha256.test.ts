import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HmacSha256 } from "./hmac-sha256.js";

const hex = (digest: string | undefined) => Buffer.from(digest ?? "", "latin1").toString("hex");
const reference = (key: Uint8Array, prefix: string, body: Uint8Array | string) =>
  createHmac("sha256", key).update(prefix).update(body).digest("hex");

describe("HmacSha256", () => {
  // RFC 4231, section 4: test cases 1, 2, 3, 6 and 7 (6 and 7: a key longer than the 64-byte block).
  it.each([
    ["0b".repeat(20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    [
      Buffer.from("Jefe").toString("hex"),
      "what do ya want for nothing?",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    [
      "aa".repeat(20),
      Buffer.alloc(50, 0xdd).toString("latin1"),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ],
    [
      "aa".repeat(131),
      "Test Using Larger Than Block-Size Key - Hash Key First",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      "aa".repeat(131),
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ])("gives RFC 4231's digest for key %s", (key, data, digest) => {
    const [computed] = new HmacSha256([Buffer.from(key, "hex")]).digests("", Buffer.from(data, "latin1"));
    expect(hex(computed)).toBe(digest);
  });

  it("gives one digest per key, in the keys' order, each as createHmac computes it", () => {
    const keys = [randomBytes(32), randomBytes(24), randomBytes(64), randomBytes(65), randomBytes(1)];
    const body = randomBytes(1_500);
    const digests = new HmacSha256(keys).digests("msg_1.1614265330.", body);
    expect(digests.map(hex)).toEqual(keys.map((key) => reference(key, "msg_1.1614265330.", body)));
  });

  it("hashes a string prefix and a string body as their UTF-8 bytes", () => {
    const key = randomBytes(32);
    const hmac = new HmacSha256([key]);
    for (const body of ['{"name":"Zoë 🚀"}', "", "\u{10ffff}", "lone \ud800 surrogate"]) {
      expect(hex(hmac.digests("id-é.1.", body)[0])).toBe(reference(key, "id-é.1.", body));
      expect(hmac.digests("id-é.1.", body)).toEqual(hmac.digests("id-é.1.", Buffer.from(body, "utf8")));
    }
  });

  it("stays right from call to call: shorter after longer, and beyond the room it keeps", () => {
    const key = randomBytes(32);
    const hmac = new HmacSha256([key]);
    for (const size of [10, 5_000, 3, 200_000, 70_000, 0, 65_536 - 20, 1_000]) {
      const body = randomBytes(size);
      expect(hex(hmac.digests("p.", body)[0])).toBe(reference(key, "p.", body));
    }
  });

  it("hashes only the bytes of a body that is a view into a larger buffer", () => {
    const key = randomBytes(32);
    const backing = randomBytes(4_096);
    const body = backing.subarray(100, 900);
    expect(hex(new HmacSha256([key]).digests("p.", body)[0])).toBe(reference(key, "p.", body));
  });
});
