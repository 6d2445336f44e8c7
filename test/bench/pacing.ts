// Open-loop pacing for autocannon's connections, the way wrk2 does it.
//
// autocannon's own `overallRate` gives each connection a quota per second and refills it on a one-second
// timer: every connection fires its quota back to back at the start of each second, then idles. At 3,000
// requests/s over 32 connections that is a closed-loop burst at concurrency 32 once a second, and the
// latency it reports is that burst's, not that of a steady 3,000/s. Here every connection instead sends on
// its own fixed schedule (interval = connections / rate, a random phase each). A request whose connection
// was still waiting for the previous answer when it came due is measured from the moment it was *due*: a
// slow answer that delays the next request is not forgiven (coordinated omission). One whose connection was
// free is measured from its send: the load generator's own lateness in sending it (a JavaScript timer of
// millisecond granularity on a core shared with the servers: p99 ~1 ms at 3,000-8,000 requests/s) is not
// the server's, and is reported apart (`onSendLate`). Requests, sockets, HTTP parsing and counting stay
// autocannon's.
import type autocannon from "autocannon";

/** autocannon's per-connection client, with the one internal method the pacer wraps (autocannon 9). */
interface PacedClient extends autocannon.Client {
  destroyed: boolean;
  _doRequest(): void;
}

export interface Pacer {
  /** For autocannon's `setupClient`. */
  readonly setupClient: (client: autocannon.Client) => void;
}

/**
 * Sends `rate` requests per second in all over `connections` connections, each on its own schedule.
 * `onLatency` receives each answer's latency in milliseconds: from when its request was due if its
 * connection was still held by the previous answer then, from its send otherwise. `onSendLate` receives,
 * for each request sent on a connection that was free when it came due, how late the load generator sent it.
 */
export function smoothPacer(
  rate: number,
  connections: number,
  onLatency: (ms: number, statusCode: number) => void,
  onSendLate: (ms: number) => void,
): Pacer {
  const intervalMs = (1000 * connections) / rate;
  return {
    setupClient(client) {
      const paced = client as PacedClient;
      if (typeof paced._doRequest !== "function") {
        throw new Error("this autocannon has no Client#_doRequest: the smooth pacer needs autocannon 9");
      }
      const send = paced._doRequest.bind(paced);
      let next = performance.now() + Math.random() * intervalMs;
      let measureFrom = 0;
      // Called as soon as the previous answer on this connection is in (and once at the start).
      paced._doRequest = () => {
        const due = next;
        next += intervalMs;
        const held = performance.now() > due;
        const fire = () => {
          if (paced.destroyed) return;
          const now = performance.now();
          // Sent up to half a millisecond early (not worth a timer), or late by the generator's own timer.
          measureFrom = held ? due : now;
          if (!held) onSendLate(Math.max(0, now - due));
          send();
        };
        const wait = due - performance.now();
        if (wait > 0.5) setTimeout(fire, wait);
        else fire();
      };
      paced.on("response", (statusCode: number) => onLatency(performance.now() - measureFrom, statusCode));
    },
  };
}
