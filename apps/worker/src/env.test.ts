import { ENRICHMENT_NAMES, type EnrichmentName } from "@gatehouse/enrichments";
import { describe, expect, it } from "vitest";
import { parseWorkerEnv } from "./env.js";

function problems(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("parseWorkerEnv", () => {
  it("defaults to every registered enrichment, warming on, the gh prefix and a local Redis", () => {
    // toMatchObject: settings added later have their own tests.
    expect(parseWorkerEnv({ PATH: "/usr/bin" })).toMatchObject({
      REDIS_URL: "redis://127.0.0.1:6379",
      LOG_LEVEL: "info",
      GATEHOUSE_KEY_PREFIX: "gh",
      GATEHOUSE_ENRICHMENTS: ENRICHMENT_NAMES,
      GATEHOUSE_WARM: true,
    });
    expect(parseWorkerEnv({}).GATEHOUSE_ENRICHMENTS).toEqual(ENRICHMENT_NAMES);
    expect(parseWorkerEnv({ GATEHOUSE_ENRICHMENTS: "" }).GATEHOUSE_ENRICHMENTS).toEqual(ENRICHMENT_NAMES);
  });

  it("serves its health and metrics on port 8081 of every interface by default; 0 picks a free port", () => {
    expect(parseWorkerEnv({})).toMatchObject({ GATEHOUSE_WORKER_PORT: 8081, HOST: "0.0.0.0" });
    expect(parseWorkerEnv({ GATEHOUSE_WORKER_PORT: "0", HOST: "127.0.0.1" })).toMatchObject({
      GATEHOUSE_WORKER_PORT: 0,
      HOST: "127.0.0.1",
    });
    expect(problems(() => parseWorkerEnv({ GATEHOUSE_WORKER_PORT: "metrics" }))).toMatch(
      /GATEHOUSE_WORKER_PORT: /,
    );
    expect(problems(() => parseWorkerEnv({ GATEHOUSE_WORKER_PORT: "70000" }))).toMatch(
      /GATEHOUSE_WORKER_PORT: /,
    );
  });

  it("picks the listed enrichments, trimming spaces and empty items, in the order given", () => {
    expect(
      parseWorkerEnv({ GATEHOUSE_ENRICHMENTS: " ip-reputation , email-domain,," }).GATEHOUSE_ENRICHMENTS,
    ).toEqual(["ip-reputation", "email-domain"]);
    expect(parseWorkerEnv({ GATEHOUSE_ENRICHMENTS: "user-claims" }).GATEHOUSE_ENRICHMENTS).toEqual([
      "user-claims",
    ]);
  });

  it("names an unknown enrichment and lists the known ones", () => {
    const message = problems(() => parseWorkerEnv({ GATEHOUSE_ENRICHMENTS: "email-domain,geo-ip" }));
    expect(message).toMatch(/^invalid configuration:\n {2}GATEHOUSE_ENRICHMENTS\.1: /);
    expect(message).toContain(`unknown enrichment "geo-ip" (known: ${ENRICHMENT_NAMES.join(", ")})`);
    expect(message).not.toContain('"email-domain" (');
  });

  it("names each unknown enrichment", () => {
    const message = problems(() => parseWorkerEnv({ GATEHOUSE_ENRICHMENTS: "Email-Domain,ip_reputation" }));
    expect(message).toContain('unknown enrichment "Email-Domain"');
    expect(message).toContain('unknown enrichment "ip_reputation"');
  });

  it("rejects a list with no name in it", () => {
    expect(problems(() => parseWorkerEnv({ GATEHOUSE_ENRICHMENTS: " , ," }))).toMatch(
      /GATEHOUSE_ENRICHMENTS: /,
    );
  });

  it.each([
    ["true", true],
    ["1", true],
    ["false", false],
    ["0", false],
  ])("reads GATEHOUSE_WARM=%s as %s", (value, expected) => {
    expect(parseWorkerEnv({ GATEHOUSE_WARM: value }).GATEHOUSE_WARM).toBe(expected);
  });

  it("reads an empty GATEHOUSE_WARM as unset (the default, true)", () => {
    expect(parseWorkerEnv({ GATEHOUSE_WARM: "" }).GATEHOUSE_WARM).toBe(true);
  });

  it.each(["yes", "TRUE", "off"])("names GATEHOUSE_WARM when it is %j", (value) => {
    expect(problems(() => parseWorkerEnv({ GATEHOUSE_WARM: value }))).toMatch(/\n {2}GATEHOUSE_WARM: /);
  });

  it("names the other bad settings, all at once", () => {
    const message = problems(() =>
      parseWorkerEnv({ REDIS_URL: "http://x", LOG_LEVEL: "chatty", GATEHOUSE_KEY_PREFIX: "a:b" }),
    );
    expect(message).toContain("REDIS_URL: must start with redis:// or rediss://");
    expect(message).toMatch(/\n {2}LOG_LEVEL: /);
    expect(message).toContain("GATEHOUSE_KEY_PREFIX: letters, digits, '_' or '-'");
  });
});

describe("the enrichments' own settings, parsed with the worker's", () => {
  const settingsOf = (name: EnrichmentName, source: Record<string, string>) =>
    parseWorkerEnv({ ...source, GATEHOUSE_ENRICHMENTS: name }).settings.get(name);

  it("parses each enabled enrichment's settings from the same environment, ignoring the rest", () => {
    expect(
      settingsOf("user-claims", {
        GATEHOUSE_CLAIMS_URL: "https://claims.acme.test/v1",
        GATEHOUSE_CLAIMS_TOKEN: "tok",
      }),
    ).toEqual({ GATEHOUSE_CLAIMS_URL: "https://claims.acme.test/v1", GATEHOUSE_CLAIMS_TOKEN: "tok" });
    expect(settingsOf("user-claims", {})).toEqual({});
    expect(settingsOf("email-domain", { GATEHOUSE_MX_TIMEOUT_MS: "750" })).toMatchObject({
      mxTimeoutMs: 750,
    });
    expect(settingsOf("ip-reputation", { GATEHOUSE_IP_BLOCKLISTS: "drop=/data/drop.txt" })).toEqual({
      blocklists: [{ name: "drop", path: "/data/drop.txt" }],
    });
    expect([...parseWorkerEnv({}).settings.keys()]).toEqual(ENRICHMENT_NAMES);
  });

  it("names every enabled enrichment's bad setting at once, and skips the disabled ones'", () => {
    const source = { GATEHOUSE_CLAIMS_URL: "claims.acme.test", GATEHOUSE_MX_TIMEOUT_MS: "soon" };
    const message = problems(() => parseWorkerEnv(source));
    expect(message).toMatch(/^invalid configuration:\n {2}/);
    expect(message).toMatch(/\n {2}GATEHOUSE_CLAIMS_URL: /);
    expect(message).toMatch(/\n {2}GATEHOUSE_MX_TIMEOUT_MS: /);
    expect(() => parseWorkerEnv({ ...source, GATEHOUSE_ENRICHMENTS: "ip-reputation" })).not.toThrow();
  });
});
