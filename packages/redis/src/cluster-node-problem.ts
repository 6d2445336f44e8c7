import { Redis } from "ioredis";
import { nodeListConnection } from "./node-list.js";

/**
 * What keeps a cluster client from the first node it was given, said plainly. ioredis reports a failed fetch
 * of the slot map as "Failed to refresh slots cache." with the node's "Connection is closed.": the cause (a
 * certificate not trusted, a connection refused, a wrong password) goes unsaid. One plain connection to that
 * node, with the cluster's credentials and TLS, meets the same cause and says it: `host:port: <its error>`.
 * Undefined when that connection succeeds (the trouble is elsewhere) or says nothing within `timeoutMs`.
 */
export async function clusterNodeProblem(
  entries: readonly string[],
  timeoutMs = 1_000,
): Promise<string | undefined> {
  const { nodes, username, password, tls } = nodeListConnection(entries);
  const node = nodes[0];
  if (!node) return undefined;
  const probe = new Redis({
    host: node.host,
    port: node.port,
    ...(username && { username }),
    ...(password && { password }),
    ...(tls && { tls: {} }),
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
  });
  let first: Error | undefined;
  probe.on("error", (error: Error) => {
    first ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      probe.connect().then(
        () => undefined,
        (error: Error) => first ?? error,
      ),
      new Promise<"silent">((resolve) => {
        timer = setTimeout(() => resolve("silent"), timeoutMs);
      }),
    ]);
    return outcome instanceof Error ? `${node.host}:${node.port}: ${outcome.message}` : undefined;
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}
