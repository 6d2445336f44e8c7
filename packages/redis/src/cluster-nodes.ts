/** How to reach a Redis Cluster: some of its nodes, and the credentials and TLS every node takes. */
export interface ClusterConnection {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

/**
 * Parses `REDIS_CLUSTER_NODES`: comma-separated entries, each `host:port` or a URL
 * `redis[s]://[user:password@]host[:port]` (a managed cluster's AUTH, and TLS with `rediss://`). What a URL
 * says besides its node is every node's — the rest are discovered from the slot map — so the URLs given
 * must agree on it. Returns the entries, trimmed; an error names the entry at fault, without its password.
 */
export function parseClusterNodes(value: string): string[] {
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) throw new Error("names no node");
  clusterConnection(entries);
  return entries;
}

/** The nodes, credentials and TLS that entries checked by `parseClusterNodes` name. */
export function clusterConnection(entries: readonly string[]): ClusterConnection {
  let shared: { tls: boolean; username: string; password: string; entry: string } | undefined;
  const nodes = entries.map((entry) => {
    if (!URL_SCHEME.test(entry)) return hostAndPort(entry);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`"${withoutCredentials(entry)}" is not a valid URL`);
    }
    if (url.pathname !== "" && url.pathname !== "/")
      throw new Error(`"${withoutCredentials(entry)}" names a database: a cluster has only one`);
    const settings = {
      tls: url.protocol === "rediss:",
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      entry,
    };
    if (
      shared &&
      (shared.tls !== settings.tls ||
        shared.username !== settings.username ||
        shared.password !== settings.password)
    ) {
      throw new Error(
        `"${withoutCredentials(entry)}" and "${withoutCredentials(shared.entry)}" differ in scheme or credentials: every node of a cluster takes the same`,
      );
    }
    shared ??= settings;
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port === "" ? 6379 : Number(url.port) };
  });
  return {
    nodes,
    tls: shared?.tls ?? false,
    ...(shared?.username && { username: shared.username }),
    ...(shared?.password && { password: shared.password }),
  };
}

/** The entries without their credentials, for messages and banners. */
export function clusterNodesDisplay(entries: readonly string[]): string {
  return entries.map(withoutCredentials).join(",");
}

const URL_SCHEME = /^rediss?:\/\//;

function hostAndPort(entry: string): { host: string; port: number } {
  if (!/^[^\s:/@]+:\d+$/.test(entry) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(entry))
    throw new Error(`"${withoutCredentials(entry)}" is not host:port or a redis:// URL`);
  const at = entry.lastIndexOf(":");
  const port = Number(entry.slice(at + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`"${entry}" has no valid port`);
  return { host: entry.slice(0, at).replace(/^\[|\]$/g, ""), port };
}

/** `rediss://user:secret@host:6379` → `rediss://host:6379`. */
function withoutCredentials(entry: string): string {
  return entry.replace(/^((?:[a-z]+:\/\/)?)[^@/]*@/i, "$1");
}
