import { Resolver } from "node:dns/promises";
import type { ResolveMx } from "./lookup-mx.js";

export interface DnsResolveMxOptions {
  /** Resolver addresses as `Resolver.setServers` takes them. Default: the system's (/etc/resolv.conf). */
  readonly servers?: readonly string[] | undefined;
  /** The longest one lookup may take, all servers included. */
  readonly timeoutMs: number;
}

/**
 * MX lookups through node:dns (c-ares), one Resolver per lookup so that an abort cancels only its own
 * query. c-ares applies its timeout per server and may back off, so a deadline of our own bounds the whole
 * lookup; it rejects with an ETIMEOUT error like c-ares' own timeout does.
 */
export function createDnsResolveMx(options: DnsResolveMxOptions): ResolveMx {
  return async (domain, signal) => {
    signal.throwIfAborted();
    const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.servers !== undefined && options.servers.length > 0)
      resolver.setServers([...options.servers]);
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      resolver.cancel();
    }, options.timeoutMs);
    const cancel = () => resolver.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      return await resolver.resolveMx(domain);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timedOut) {
        throw Object.assign(new Error(`MX lookup for ${domain} timed out after ${options.timeoutMs} ms`), {
          code: "ETIMEOUT",
          cause: error,
        });
      }
      throw error;
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener("abort", cancel);
    }
  };
}
