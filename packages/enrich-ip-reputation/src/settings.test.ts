import { describe, expect, it } from "vitest";
import { ipReputationSettingsSchema } from "./settings.js";

const issues = (env: Record<string, string>) => {
  const result = ipReputationSettingsSchema.safeParse(env);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("ipReputationSettingsSchema", () => {
  it("needs nothing set, and ignores unrelated variables", () => {
    expect(ipReputationSettingsSchema.parse({ HOME: "/root" })).toEqual({ blocklists: [] });
    expect(ipReputationSettingsSchema.parse({ GATEHOUSE_IP_BLOCKLISTS: "" })).toEqual({ blocklists: [] });
  });

  it("reads name=path entries and names bare paths after the file", () => {
    const settings = ipReputationSettingsSchema.parse({
      GATEHOUSE_IP_BLOCKLISTS:
        " /data/firehol_level1.netset , spamhaus=/data/drop_v4.json,,./lists/tor-exits ",
    });
    expect(settings.blocklists).toEqual([
      { name: "firehol_level1", path: "/data/firehol_level1.netset" },
      { name: "spamhaus", path: "/data/drop_v4.json" },
      { name: "tor-exits", path: "./lists/tor-exits" },
    ]);
  });

  it("names the setting and the entry it cannot use", () => {
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "a=/x.netset,a=/y.netset" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: the list name "a" is used twice',
    ]);
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "/data/.hidden" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: ".hidden" is not a usable list name (in "/data/.hidden"); write name=path',
    ]);
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "drop=" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: "drop=" names no file',
    ]);
  });
});
