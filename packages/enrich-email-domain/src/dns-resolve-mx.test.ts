import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDnsResolveMx } from "./dns-resolve-mx.js";
import { lookupMx } from "./lookup-mx.js";
import { type StubDnsServer, startStubDnsServer } from "./testing/stub-dns-server.js";

describe("createDnsResolveMx against a stub DNS server", () => {
  let server: StubDnsServer;
  const live = () => new AbortController().signal;

  beforeAll(async () => {
    server = await startStubDnsServer({
      "mail.example": {
        mx: [
          [10, "mx1.mail.example"],
          [20, "mx2.mail.example"],
        ],
      },
      "nomx.example": { mx: [] },
      "nullmx.example": { mx: [[0, ""]] },
      "broken.example": { rcode: 2 },
      "slow.example": "silent",
    });
  });
  afterAll(() => server.close());

  const resolver = (timeoutMs = 1_000) => createDnsResolveMx({ servers: [server.address], timeoutMs });

  it("returns the MX records", async () => {
    const records = await resolver()("mail.example", live());
    expect([...records].sort((a, b) => a.priority - b.priority)).toEqual([
      { priority: 10, exchange: "mx1.mail.example" },
      { priority: 20, exchange: "mx2.mail.example" },
    ]);
    expect(await lookupMx("mail.example", resolver(), live())).toBe("present");
  });

  it("maps NXDOMAIN and a name without MX to absent, and a null MX too", async () => {
    await expect(resolver()("missing.example", live())).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(resolver()("nomx.example", live())).rejects.toMatchObject({ code: "ENODATA" });
    expect(await lookupMx("missing.example", resolver(), live())).toBe("absent");
    expect(await lookupMx("nomx.example", resolver(), live())).toBe("absent");
    expect(await lookupMx("nullmx.example", resolver(), live())).toBe("absent");
  });

  it("maps SERVFAIL to unknown", async () => {
    await expect(resolver()("broken.example", live())).rejects.toMatchObject({ code: "ESERVFAIL" });
    expect(await lookupMx("broken.example", resolver(), live())).toBe("unknown");
  });

  it("gives up on a silent server after the timeout, as ETIMEOUT and so unknown", async () => {
    const started = performance.now();
    await expect(resolver(200)("slow.example", live())).rejects.toMatchObject({ code: "ETIMEOUT" });
    expect(await lookupMx("slow.example", resolver(200), live())).toBe("unknown");
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("cancels the query when the signal aborts, rejecting with its reason", async () => {
    const controller = new AbortController();
    const reason = new Error("job timed out");
    const started = performance.now();
    const pending = resolver(5_000)("slow.example", controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("does not ask at all when the signal is already aborted", async () => {
    const before = server.queries.length;
    await expect(resolver()("mail.example", AbortSignal.abort(new Error("gone")))).rejects.toThrow("gone");
    expect(server.queries.length).toBe(before);
  });
});
