/**
 * Some Redis servers of one deployment — a cluster's nodes (`REDIS_CLUSTER_NODES`) or its Sentinels
 * (`REDIS_SENTINELS`) — and the credentials and TLS every one of them takes.
 */
export interface NodeListConnection {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

/**
 * Parses a list of nodes (`REDIS_CLUSTER_NODES`, `REDIS_SENTINELS`): comma-separated entries, each
 * `host:port` or a URL `redis[s]://[user:password@]host[:port]` (AUTH, and TLS with `rediss://`). What a URL
 * says besides its node is every node's — a cluster's other nodes are discovered from its slot map — so the
 * URLs given must agree on it. Returns the entries, trimmed; an error names the entry at fault, without its
 * password.
 */
export function parseNodeList(value: string): string[] {
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) throw new Error("names no node");
  nodeListConnection(entries);
  return entries;
}

/**
 * The nodes, credentials and TLS that entries checked by `parseNodeList` name; a URL without a port has
 * `defaultPort`.
 */
export function nodeListConnection(entries: readonly string[], defaultPort = 6379): NodeListConnection {
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
        `"${withoutCredentials(entry)}" and "${withoutCredentials(shared.entry)}" differ in scheme or credentials: every node takes the same`,
      );
    }
    shared ??= settings;
    return {
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port === "" ? defaultPort : Number(url.port),
    };
  });
  return {
    nodes,
    tls: shared?.tls ?? false,
    ...(shared?.username && { username: shared.username }),
    ...(shared?.password && { password: shared.password }),
  };
}

/** The entries without their credentials, for messages and banners. */
export function nodeListDisplay(entries: readonly string[]): string {
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
