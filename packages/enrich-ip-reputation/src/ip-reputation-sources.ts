import { createDnsblLookup, createDnsResolveA } from "./dnsbl.js";
import { FeedStore } from "./feed-store.js";
import type { BlocklistSlot, IpReputationHandlerOptions } from "./ip-reputation-handler.js";
import { type FeedBlocklistSource, type FileBlocklistSource, loadBlocklists } from "./load-blocklists.js";
import { openMaxmindDatabases } from "./maxmind-databases.js";
import type { IpReputationSettings } from "./settings.js";

/**
 * Everything the handler looks addresses up in, from the settings: the blocklist files (read now), the URL
 * feeds (downloaded when the worker starts the handler), the MaxMind databases (opened now) and the DNSBL
 * zones. A file or database that cannot be used rejects, naming its setting.
 */
export async function createIpReputationSources(
  settings: IpReputationSettings,
): Promise<IpReputationHandlerOptions> {
  const files = settings.blocklists.filter((source): source is FileBlocklistSource => "path" in source);
  const urls = settings.blocklists.filter((source): source is FeedBlocklistSource => "url" in source);
  const [loaded, maxmind] = await Promise.all([
    loadBlocklists(files),
    openMaxmindDatabases(settings.maxmind ?? {}),
  ]);
  const feeds =
    urls.length === 0
      ? undefined
      : new FeedStore({
          feeds: urls,
          refreshMs: (settings.feeds?.refreshMinutes ?? 60) * 60_000,
          timeoutMs: settings.feeds?.timeoutMs ?? 30_000,
        });
  const byName = new Map<string, BlocklistSlot>([
    ...loaded.map((list): [string, BlocklistSlot] => [
      list.summary.name,
      { name: list.summary.name, current: () => list },
    ]),
    ...(feeds?.slots ?? []).map((slot): [string, BlocklistSlot] => [slot.name, slot]),
  ]);
  const { dnsbl } = settings;
  return {
    // Configuration order, files and feeds alike.
    blocklists: settings.blocklists.flatMap((source) => byName.get(source.name) ?? []),
    maxmind,
    dnsbl:
      dnsbl === undefined
        ? undefined
        : createDnsblLookup(
            dnsbl.zones,
            createDnsResolveA({ servers: dnsbl.servers, timeoutMs: dnsbl.timeoutMs }),
          ),
    ...(feeds !== undefined && { start: (context) => feeds.start(context) }),
  };
}
