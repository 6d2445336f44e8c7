import { basename, extname } from "node:path";
import { z } from "zod";
import type { BlocklistSource } from "./load-blocklists.js";

// An environment variable set to "" counts as unset, so `FOO=` in an env file falls back to the default.
const unsetIfEmpty = (value: unknown) => (value === "" ? undefined : value);
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const blocklistSources = z.string().transform((value, ctx) => {
  const sources: BlocklistSource[] = [];
  for (const item of value.split(",").map((part) => part.trim())) {
    if (item === "") continue;
    const equals = item.indexOf("=");
    const path = (equals === -1 ? item : item.slice(equals + 1)).trim();
    const name = equals === -1 ? basename(path, extname(path)) : item.slice(0, equals).trim();
    if (path === "") ctx.addIssue({ code: "custom", message: `"${item}" names no file` });
    else if (!NAME.test(name)) {
      ctx.addIssue({
        code: "custom",
        message: `"${name}" is not a usable list name (in "${item}"); write name=path`,
      });
    } else if (sources.some((source) => source.name === name)) {
      ctx.addIssue({ code: "custom", message: `the list name "${name}" is used twice` });
    } else sources.push({ name, path });
  }
  return sources;
});

/** The environment variables the ip-reputation enrichment reads; unknown variables are ignored. */
export const ipReputationSettingsSchema = z
  .object({
    GATEHOUSE_IP_BLOCKLISTS: z.preprocess(unsetIfEmpty, blocklistSources.optional()),
  })
  .transform((env): IpReputationSettings => ({ blocklists: env.GATEHOUSE_IP_BLOCKLISTS ?? [] }));

export interface IpReputationSettings {
  /**
   * `GATEHOUSE_IP_BLOCKLISTS`: comma-separated blocklist files, each `name=path` or just `path` (the name is
   * then the file name without its extension: `/data/firehol_level1.netset` is `firehol_level1`). Relative
   * paths are resolved from the worker's working directory. Default: none (facts report the range only).
   */
  readonly blocklists: readonly BlocklistSource[];
}
