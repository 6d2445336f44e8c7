import type { MxRecord } from "node:dns";
import { describe, expect, it } from "vitest";
import { lookupMx, type ResolveMx } from "./lookup-mx.js";

const dnsError = (code: string) => Object.assign(new Error(`query failed: ${code}`), { code });
const answering =
  (records: MxRecord[]): ResolveMx =>
  async () =>
    records;
const failing =
  (error: unknown): ResolveMx =>
  async () => {
    throw error;
  };
const live = () => new AbortController().signal;

describe("lookupMx", () => {
  it("is present when there is an MX record with an exchange", async () => {
    expect(
      await lookupMx("example.com", answering([{ priority: 10, exchange: "mx.example.com" }]), live()),
    ).toBe("present");
  });

  it("is absent for no records and for a null MX (RFC 7505)", async () => {
    expect(await lookupMx("example.com", answering([]), live())).toBe("absent");
    expect(await lookupMx("example.com", answering([{ priority: 0, exchange: "" }]), live())).toBe("absent");
    expect(await lookupMx("example.com", answering([{ priority: 0, exchange: "." }]), live())).toBe("absent");
  });

  it.each(["ENOTFOUND", "ENODATA"])("is absent on %s (the name or its MX does not exist)", async (code) => {
    expect(await lookupMx("example.com", failing(dnsError(code)), live())).toBe("absent");
  });

  it.each(["ETIMEOUT", "ESERVFAIL", "ECONNREFUSED", "EREFUSED", "ECANCELLED", "EBADRESP"])(
    "is unknown on %s: a resolver failure is never an answer about the domain",
    async (code) => {
      expect(await lookupMx("example.com", failing(dnsError(code)), live())).toBe("unknown");
    },
  );

  it("passes the domain and the signal to the resolver", async () => {
    const signal = live();
    const calls: [string, AbortSignal][] = [];
    await lookupMx(
      "example.com",
      async (domain, given) => {
        calls.push([domain, given]);
        return [];
      },
      signal,
    );
    expect(calls).toEqual([["example.com", signal]]);
  });

  it("rethrows an error that carries no DNS code: a bug, not an answer", async () => {
    const bug = new TypeError("records is not iterable");
    await expect(lookupMx("example.com", failing(bug), live())).rejects.toBe(bug);
  });

  it("rejects with the abort reason, without asking, when already aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("job timed out");
    controller.abort(reason);
    let asked = false;
    const resolveMx: ResolveMx = async () => {
      asked = true;
      return [];
    };
    await expect(lookupMx("example.com", resolveMx, controller.signal)).rejects.toBe(reason);
    expect(asked).toBe(false);
  });

  it("rejects with the abort reason, not unknown, when aborted during the lookup", async () => {
    const controller = new AbortController();
    const reason = new Error("worker shutting down");
    // Like the real resolver: the abort cancels the query, which then fails with ECANCELLED.
    const resolveMx: ResolveMx = (_domain, signal) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener("abort", () => reject(dnsError("ECANCELLED")), { once: true }),
      );
    const pending = lookupMx("example.com", resolveMx, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});
