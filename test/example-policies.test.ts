import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseInterceptorRequest, type RequestFixtureName, requestFixture } from "@gatehouse/contracts";
import {
  type CacheKeys,
  cacheKeys,
  type TeamFactEntry,
  TeamFactStore,
  teamFactIdSchema,
  teamFactSchemas,
  writeFact,
} from "@gatehouse/decision-cache";
import { DEFAULTS, type FactOf, factKey } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS, type EnrichmentName } from "@gatehouse/enrichments";
import { loadPolicyFile, type Outcome, PolicyError, parsePolicy } from "@gatehouse/policy";
import { testRedis } from "@gatehouse/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, describe, expect, inject, it, vi } from "vitest";
import { buildRequestBody } from "../apps/cli/src/build-request.js";
import { readFactsFile } from "../apps/cli/src/facts-file.js";
import { sendInterceptorRequest } from "../apps/cli/src/send-request.js";
import { assertBuilt, INGRESS } from "./support/artifacts.js";
import { assertAlive } from "./support/built-apps.js";
import { spawnTs, type TsProcess } from "./support/child-process.js";
import { body, SECRET, send, testEnv, testIngress, UNKNOWN_IP } from "./support/ingress-harness.js";
import { freePort } from "./support/redis-server.js";

// Every policy shipped in infra/policies/ is loaded from its file and run through the ingress against the
// real test Redis, with the facts it needs written where the workers and the team would write them.

const POLICIES = fileURLToPath(new URL("../infra/policies/", import.meta.url));
const policyFiles = () => readdirSync(POLICIES).filter((name) => /\.(ya?ml|json)$/.test(name));

const redisUrl = inject("redisUrl");
const redis = testRedis();

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

type Body = Record<string, unknown>;
type AuditRecord = Record<string, unknown>;

/** The ingress running one shipped example, with its own key prefix, and what a test needs around it. */
interface Example {
  app: FastifyInstance;
  keys: CacheKeys;
  team: TeamFactStore;
  /** Writes a shipped team-facts file (as `gatehouse facts load` reads it) as the admin API stores it. */
  loadTeamFacts(file: string): Promise<number>;
  /** Sends `payload` signed, under a fresh interceptor id (or `id`), to the trigger's route. */
  send(route: string, payload: Body, id?: string): Promise<{ id: string; answer: unknown }>;
  /** Closes the ingress (flushing its audit buffer) and returns the audit records by interceptor id. */
  audit(): Promise<Map<string, AuditRecord>>;
}

async function example(file: string): Promise<Example> {
  const policy = await loadPolicyFile(join(POLICIES, file));
  const env = testEnv(redisUrl);
  const app = await testIngress(env, policy);
  apps.push(app);
  const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  const team = new TeamFactStore(redis, keys);
  return {
    app,
    keys,
    team,
    loadTeamFacts: async (factsFile) => {
      const { records, problems } = readFactsFile(join(POLICIES, factsFile));
      expect(problems).toEqual([]);
      const entries = records.map(({ list, body: { id, ...fact } }): TeamFactEntry => {
        const kind = list === "organizations" ? "organization" : "user";
        return { kind, id: teamFactIdSchema.parse(id), fact: teamFactSchemas[kind].parse(fact) };
      });
      return team.putMany(entries);
    },
    async send(route, payload, id = `msg_${randomUUID()}`) {
      const sent = await send(app, route, payload, { id });
      expect(sent.status).toBe(200);
      return { id, answer: sent.answer };
    },
    async audit() {
      await app.close();
      const entries = await redis.xrange(keys.auditStream, "-", "+");
      const records = entries.flatMap(([, fields]) => JSON.parse(fields[1] ?? "[]") as AuditRecord[]);
      return new Map(records.map((record) => [record.interceptorId as string, record]));
    },
  };
}

/**
 * Writes the fact an enrichment would compute for this request body, as its worker does: the key from the
 * enrichment's own `fromRequest` and `subject`, the fact checked against its schema, its TTL, announced.
 */
async function writeEnrichmentFact<N extends EnrichmentName>(
  keys: CacheKeys,
  name: N,
  payload: Body,
  fact: FactOf<(typeof ENRICHMENTS)[N]>,
): Promise<void> {
  const enrichment = ENRICHMENTS[name];
  const parsed = parseInterceptorRequest(payload);
  if (!parsed.ok) throw new Error(`not a valid request body: ${parsed.reason}`);
  const input = enrichment.fromRequest(parsed.request);
  if (input === undefined) throw new Error(`${name} does not apply to this request`);
  const ttl = enrichment.ttlSeconds ?? DEFAULTS.ttlSeconds;
  await writeFact(redis, keys, factKey(keys, enrichment, input), enrichment.fact.parse(fact), ttl);
}

const emailDomainFact = (
  domain: string,
  over: Partial<FactOf<(typeof ENRICHMENTS)["email-domain"]>> = {},
): FactOf<(typeof ENRICHMENTS)["email-domain"]> => ({
  domain,
  registrable: domain,
  disposable: false,
  freeMail: false,
  mx: "present",
  ...over,
});

const ipFact = (ip: string, lists: string[] = []): FactOf<(typeof ENRICHMENTS)["ip-reputation"]> => ({
  ...UNKNOWN_IP,
  ip,
  lists,
  listed: lists.length > 0,
});

/** A documented body with context fields replaced and, optionally, `data` replaced. */
function request(fixture: RequestFixtureName, context: Body = {}, data?: Body): Body {
  const value = body(fixture, context);
  if (data !== undefined) value.data = data;
  return value;
}

const deny = (message: string) => ({ decision: "DENY", error: { message } });

// Answers expected both from the ingress in this process and from the built one.
const NOT_INVITED = deny("Sign-up is by invitation only. Ask your organization's admin to invite you.");
const UNKNOWN_CLIENT = deny("This client may not obtain tokens.");
const DEPLOYMENT_TOKEN = {
  decision: "ALLOW",
  response: {
    claims: {
      scope: "deploy:applications read:deployments",
      aud: "https://api.acmecorp.com",
      rate_limit: "1000",
      environment: "production",
    },
  },
};

describe("every file in infra/policies/", () => {
  const tested = [
    "block-disposable-domains.yaml",
    "block-ips-and-regions.yaml",
    "invitation-limits.yaml",
    "invite-only-signup.yaml",
    "m2m-scopes.yaml",
    "provision-acmecorp.yaml",
    "session-claims.yaml",
    "velocity-and-shadow.yaml",
  ];

  it("is one of the examples tested below", () => {
    expect(policyFiles().sort()).toEqual(tested);
  });

  it.each(policyFiles())(
    "%s parses, says what it does first, and gives every rule a reason and every DENY a message",
    async (file) => {
      const policy = await loadPolicyFile(join(POLICIES, file));
      expect(readFileSync(join(POLICIES, file), "utf8")).toMatch(/^# .+\n#\n# What it does: /);
      for (const trigger of Object.values(policy.triggers)) {
        const outcomes: Outcome[] = [...(trigger?.rules ?? []).map((rule) => rule.outcome)];
        if (trigger?.default.decision === "DENY") outcomes.push(trigger.default);
        for (const outcome of outcomes) {
          expect(outcome.reason, JSON.stringify(outcome)).toMatch(/^[a-z0-9_]+\.[a-z0-9_.]+$/);
          if (outcome.decision === "DENY") expect(outcome.message).toBeTruthy();
        }
      }
    },
  );
});

describe("infra/policies/README.md", () => {
  it("shows a combined policy that parses", () => {
    const readme = readFileSync(join(POLICIES, "README.md"), "utf8");
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
    expect(blocks).toHaveLength(1);
    const policy = parsePolicy(blocks[0] ?? "", "README.md");
    expect(policy.triggers.PRE_SIGNUP?.rules.map((rule) => rule.name)).toEqual([
      "signups-per-ip",
      "disposable-email",
      "provision-acmecorp",
    ]);
  });
});

describe("a malformed copy of an example is refused, naming the line and the field", () => {
  const text = readFileSync(join(POLICIES, "block-ips-and-regions.yaml"), "utf8");
  const lineOf = (source: string, fragment: string) =>
    source.split("\n").findIndex((line) => line.includes(fragment)) + 1;
  const problems = (source: string) => {
    try {
      parsePolicy(source, "copy.yaml");
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      return (error as PolicyError).problems;
    }
    throw new Error("the malformed policy was accepted");
  };

  it("a misspelled field", () => {
    const broken = text.replace("location: { region:", "location: { regoin:");
    const line = lineOf(broken, "regoin");
    expect(line).toBeGreaterThan(1);
    expect(problems(broken)).toContainEqual(
      expect.stringMatching(
        new RegExp(`^line ${line}: triggers\\.PRE_SIGNUP\\.rules\\.1\\.when\\.location: .*"regoin"`),
      ),
    );
  });

  it("a list that does not exist", () => {
    const broken = text.replace("inList: blocked-ips", "inList: blocked-ipz");
    expect(problems(broken)).toEqual([
      `line ${lineOf(broken, "blocked-ipz")}: triggers.PRE_SIGNUP.rules.0.when.ip.inList: no list named "blocked-ipz" in lists`,
    ]);
  });

  it("a DENY without a reason code", () => {
    const broken = text.replace(/\n\s*reason: region\.blocked/, "");
    expect(problems(broken)).toContainEqual(
      expect.stringMatching(/^line \d+: triggers\.PRE_SIGNUP\.rules\.1\.outcome\.reason: /),
    );
  });
});

describe("block-disposable-domains.yaml", () => {
  it("denies disposable and mail-less domains at sign-up and invitation, and allows the rest", async () => {
    const ex = await example("block-disposable-domains.yaml");
    const signup = (email: string) => request("PRE_SIGNUP_NEW_USER", { user_email: email });
    const invite = (email: string) => request("PRE_USER_INVITATION", { user_email: email });
    const facts: [Body, string, Partial<FactOf<(typeof ENRICHMENTS)["email-domain"]>>][] = [
      [signup("jane@mailinator.com"), "mailinator.com", { disposable: true }],
      [signup("jane@no-mail.example"), "no-mail.example", { mx: "absent" }],
      [signup("jane@acme.example"), "acme.example", {}],
      [signup("jane@slow-dns.example"), "slow-dns.example", { mx: "unknown" }],
      [invite("bob@guerrillamail.com"), "guerrillamail.com", { disposable: true }],
    ];
    for (const [payload, domain, over] of facts)
      await writeEnrichmentFact(ex.keys, "email-domain", payload, emailDomainFact(domain, over));

    const disposable = await ex.send("/pre-signup", signup("jane@mailinator.com"));
    expect(disposable.answer).toEqual(
      deny("Please sign up with a permanent email address; disposable addresses are not accepted."),
    );
    const noMail = await ex.send("/pre-signup", signup("jane@no-mail.example"));
    expect(noMail.answer).toEqual(deny("This email domain cannot receive email. Please check the address."));
    const fine = await ex.send("/pre-signup", signup("jane@acme.example"));
    expect(fine.answer).toEqual({ decision: "ALLOW" });
    const unknownMx = await ex.send("/pre-signup", signup("jane@slow-dns.example"));
    expect(unknownMx.answer).toEqual({ decision: "ALLOW" });
    const invitation = await ex.send("/pre-user-invitation", invite("bob@guerrillamail.com"));
    expect(invitation.answer).toEqual(deny("Invitations cannot be sent to disposable email addresses."));

    const audit = await ex.audit();
    expect([disposable, noMail, fine, unknownMx, invitation].map(({ id }) => audit.get(id)?.rule)).toEqual([
      "disposable-email",
      "domain-without-mail",
      null,
      null,
      "disposable-email",
    ]);
    // Decided on the cached fact: read from Redis, or from the copy its announcement left in memory.
    expect(audit.get(noMail.id)).toMatchObject({ reason: "email.no_mx" });
    expect(["hit", "memory"]).toContain(audit.get(noMail.id)?.cache);
  });
});

describe("block-ips-and-regions.yaml", () => {
  it("denies listed addresses and blocks, blocked regions and blocklisted addresses, each with its message", async () => {
    const ex = await example("block-ips-and-regions.yaml");
    const signup = (ip: string, region = "US") => request("PRE_SIGNUP_NEW_USER", { ip_address: ip, region });
    const blocklisted = signup("192.0.2.50");
    await writeEnrichmentFact(ex.keys, "ip-reputation", blocklisted, ipFact("192.0.2.50", ["firehol"]));
    for (const ip of ["203.0.113.24", "192.0.2.200", "2001:db8:bad::1", "192.0.2.10"])
      await writeEnrichmentFact(ex.keys, "ip-reputation", signup(ip), ipFact(ip));

    const ipMessage = deny("Signups from your IP address are not allowed due to security policy");
    const sent = {
      guideAddress: await ex.send("/pre-signup", signup("203.0.113.24")),
      inBlock: await ex.send("/pre-signup", signup("192.0.2.200")),
      ipv6: await ex.send("/pre-signup", signup("2001:db8:bad::1")),
      region: await ex.send("/pre-signup", signup("192.0.2.10", "kp")),
      blocklisted: await ex.send("/pre-signup", blocklisted),
      allowed: await ex.send("/pre-signup", signup("192.0.2.10", "US")),
    };
    expect(sent.guideAddress.answer).toEqual(ipMessage);
    expect(sent.inBlock.answer).toEqual(ipMessage);
    expect(sent.ipv6.answer).toEqual(ipMessage);
    expect(sent.region.answer).toEqual(
      deny("Signups from your location are restricted due to compliance requirements"),
    );
    expect(sent.blocklisted.answer).toEqual(ipMessage);
    expect(sent.allowed.answer).toEqual({ decision: "ALLOW" });

    const audit = await ex.audit();
    expect(Object.values(sent).map(({ id }) => [audit.get(id)?.rule, audit.get(id)?.reason])).toEqual([
      ["blocked-ip", "ip.blocked"],
      ["blocked-ip", "ip.blocked"],
      ["blocked-ip", "ip.blocked"],
      ["blocked-region", "region.blocked"],
      ["blocklisted-ip", "ip.blocklisted"],
      [null, "policy.default"],
    ]);
  });
});

describe("invite-only-signup.yaml", () => {
  it("lets invited addresses, invited domains and existing members create an organization, and no one else", async () => {
    const ex = await example("invite-only-signup.yaml");
    const newUser = (email: string) => request("PRE_SIGNUP_NEW_USER", { user_email: email });
    const existing = requestFixture("PRE_SIGNUP");
    const withoutMemberships = structuredClone(existing) as { data: { user: { memberships: unknown[] } } };
    withoutMemberships.data.user.memberships = [];

    const sent = {
      invited: await ex.send("/pre-signup", newUser("Ada@Example.com")),
      invitedDomain: await ex.send("/pre-signup", newUser("sam@eu.partner.example")),
      member: await ex.send("/pre-signup", existing),
      stranger: await ex.send("/pre-signup", newUser("eve@elsewhere.example")),
      lookalike: await ex.send("/pre-signup", newUser("ada@example.com.evil.example")),
      noMemberships: await ex.send("/pre-signup", withoutMemberships as unknown as Body),
    };
    expect(sent.invited.answer).toEqual({ decision: "ALLOW" });
    expect(sent.invitedDomain.answer).toEqual({ decision: "ALLOW" });
    expect(sent.member.answer).toEqual({ decision: "ALLOW" });
    expect(sent.stranger.answer).toEqual(NOT_INVITED);
    expect(sent.lookalike.answer).toEqual(NOT_INVITED);
    expect(sent.noMemberships.answer).toEqual(NOT_INVITED);

    const audit = await ex.audit();
    expect(Object.values(sent).map(({ id }) => [audit.get(id)?.rule, audit.get(id)?.reason])).toEqual([
      ["invited-email", "signup.invited"],
      ["invited-domain", "signup.invited_domain"],
      ["existing-member", "signup.existing_member"],
      [null, "signup.not_invited"],
      [null, "signup.not_invited"],
      [null, "signup.not_invited"],
    ]);
  });
});

describe("provision-acmecorp.yaml", () => {
  it("provisions acmecorp.com and megacorp.com users into their organizations with roles, others as usual", async () => {
    const ex = await example("provision-acmecorp.yaml");
    const signup = (email: string) => request("PRE_SIGNUP_NEW_USER", { user_email: email });
    const sent = {
      acme: await ex.send("/pre-signup", signup("jo@acmecorp.com")),
      acmeSubdomain: await ex.send("/pre-signup", signup("jo@EU.AcmeCorp.com")),
      mega: await ex.send("/pre-signup", signup("kim@megacorp.com")),
      other: await ex.send("/pre-signup", signup("lee@example.com")),
      lookalike: await ex.send("/pre-signup", signup("mallory@notacmecorp.com")),
    };
    const acme = {
      decision: "ALLOW",
      response: { create_organization_membership: { organization_id: "org_123456789", roles: ["member"] } },
    };
    expect(sent.acme.answer).toEqual(acme);
    expect(sent.acmeSubdomain.answer).toEqual(acme);
    expect(sent.mega.answer).toEqual({
      decision: "ALLOW",
      response: {
        create_organization_membership: { external_organization_id: "ext_megacorp_456", roles: ["viewer"] },
      },
    });
    expect(sent.other.answer).toEqual({ decision: "ALLOW" });
    expect(sent.lookalike.answer).toEqual({ decision: "ALLOW" });

    const audit = await ex.audit();
    expect(Object.values(sent).map(({ id }) => audit.get(id)?.rule)).toEqual([
      "provision-acmecorp",
      "provision-acmecorp",
      "provision-megacorp",
      null,
      null,
    ]);
  });
});

describe("session-claims.yaml", () => {
  it("merges cached claims, the team's claims and the region claim; goes on without claims not cached", async () => {
    const ex = await example("session-claims.yaml");
    const session = (user: string, org: string) =>
      request("PRE_SESSION_CREATION", { user_id: user, organization_id: org });
    const cached = { plan: "pro", features: ["analytics", "api_access"], data_region: "from-service" };
    await writeEnrichmentFact(ex.keys, "user-claims", session("usr_123", "org_456"), { claims: cached });
    await writeEnrichmentFact(ex.keys, "user-claims", session("usr_123", "org_eu_1"), { claims: cached });
    expect(await ex.loadTeamFacts("session-claims.facts.csv")).toBe(1);

    const us = await ex.send("/pre-session-creation", session("usr_123", "org_456"));
    const eu = await ex.send("/pre-session-creation", session("usr_123", "org_eu_1"));
    const started = performance.now();
    const uncached = await ex.send("/pre-session-creation", session("usr_new", "org_456"));
    const waited = performance.now() - started;

    const merged = { plan: "enterprise", features: ["analytics", "api_access"], cost_center: "R&D-001" };
    expect(us.answer).toEqual({
      decision: "ALLOW",
      response: { claims: { ...merged, data_region: "us-west-2" } },
    });
    expect(eu.answer).toEqual({
      decision: "ALLOW",
      response: { claims: { ...merged, data_region: "eu-central-1" } },
    });
    // No worker runs here: the ingress waits its 500 ms for the claims, then answers without them.
    expect(uncached.answer).toEqual({
      decision: "ALLOW",
      response: { claims: { data_region: "us-west-2" } },
    });
    expect(waited).toBeGreaterThan(450);

    const audit = await ex.audit();
    // The cached claims were announced as they were written: the ingress holds them, and reads only the
    // team's facts from Redis.
    expect([us, eu, uncached].map(({ id }) => audit.get(id))).toMatchObject([
      { rule: null, reason: "session.claims", cache: "memory" },
      { rule: "eu-organization", reason: "session.claims_eu", cache: "memory" },
      { rule: null, reason: "session.claims", cache: "miss" },
    ]);
  });
});

describe("invitation-limits.yaml", () => {
  it("allows invitations to the organization's domains below 50 members, and denies the rest", async () => {
    const ex = await example("invitation-limits.yaml");
    expect(await ex.loadTeamFacts("invitation-limits.facts.csv")).toBe(2);
    await ex.team.put("organization", "org_one_seat_left", {
      allowedDomains: ["acmecorp.com"],
      memberCount: 49,
    });
    const ACME = "org_93731871904672153";
    const invite = (org: string, email: string) =>
      request("PRE_USER_INVITATION", { organization_id: org, user_email: email });

    const sent = {
      ownDomain: await ex.send("/pre-user-invitation", invite(ACME, "sam@contractor.com")),
      subdomain: await ex.send("/pre-user-invitation", invite(ACME, "sam@eu.acmecorp.com")),
      lastSeat: await ex.send("/pre-user-invitation", invite("org_one_seat_left", "sam@acmecorp.com")),
      outside: await ex.send("/pre-user-invitation", invite(ACME, "sam@gmail.com")),
      full: await ex.send("/pre-user-invitation", invite("org_full_house", "sam@acmecorp.com")),
      unknown: await ex.send("/pre-user-invitation", invite("org_nobody_wrote", "sam@acmecorp.com")),
    };
    expect(sent.ownDomain.answer).toEqual({ decision: "ALLOW" });
    expect(sent.subdomain.answer).toEqual({ decision: "ALLOW" });
    expect(sent.lastSeat.answer).toEqual({ decision: "ALLOW" });
    expect(sent.outside.answer).toEqual(
      deny("You can only invite people with an email address at your organization's domains."),
    );
    expect(sent.full.answer).toEqual(deny("Your organization has reached its limit of 50 members."));
    expect(sent.unknown.answer).toEqual(
      deny("Invitations are not set up for your organization yet. Please contact support."),
    );

    const audit = await ex.audit();
    expect(Object.values(sent).map(({ id }) => audit.get(id)?.rule)).toEqual([
      null,
      null,
      null,
      "outside-domains",
      "member-limit",
      "unknown-organization",
    ]);
    // The audit keeps what was compared, not the organization's domains.
    expect(audit.get(sent.full.id)?.team).toEqual({ organization: { memberCount: 50, allowedDomains: 1 } });
  });
});

describe("m2m-scopes.yaml", () => {
  const m2m = (client: string, scopes?: string[]) => {
    const value = request("PRE_M2M_TOKEN_CREATION", { client_id: client }) as {
      data: { m2m_token_claims: { client_id: string; claims: { scope: string; scopes: string[] } } };
    };
    value.data.m2m_token_claims.client_id = client;
    if (scopes) {
      value.data.m2m_token_claims.claims.scope = scopes.join(" ");
      value.data.m2m_token_claims.claims.scopes = scopes;
    }
    return value as unknown as Body;
  };

  it("narrows scopes per client and sets aud, and denies unknown clients and forbidden scopes", async () => {
    const ex = await example("m2m-scopes.yaml");
    const deployment = "m2morg_93710427703245914";
    const sent = {
      deployment: await ex.send("/pre-m2m-token-creation", m2m(deployment)),
      reporting: await ex.send("/pre-m2m-token-creation", m2m("m2morg_reporting")),
      nothingAllowed: await ex.send("/pre-m2m-token-creation", m2m("m2morg_reporting", ["write:logs"])),
      admin: await ex.send("/pre-m2m-token-creation", m2m(deployment, ["read:deployments", "admin:all"])),
      unknown: await ex.send("/pre-m2m-token-creation", m2m("m2morg_unknown")),
    };
    expect(sent.deployment.answer).toEqual(DEPLOYMENT_TOKEN);
    expect(sent.reporting.answer).toEqual({
      decision: "ALLOW",
      response: { claims: { scope: "read:deployments", aud: "https://api.acmecorp.com" } },
    });
    expect(sent.nothingAllowed.answer).toEqual(
      deny("None of the requested scopes can be granted to this client."),
    );
    expect(sent.admin.answer).toEqual(deny("Administrative scopes cannot be granted to machine clients."));
    expect(sent.unknown.answer).toEqual(UNKNOWN_CLIENT);

    const audit = await ex.audit();
    expect(Object.values(sent).map(({ id }) => audit.get(id)?.rule)).toEqual([
      "deployment-service",
      null,
      "no-allowed-scope",
      "forbidden-scope",
      "unknown-client",
    ]);
  });
});

describe("velocity-and-shadow.yaml", () => {
  const signup = (ip: string, email: string) =>
    request("PRE_SIGNUP_NEW_USER", { ip_address: ip, user_email: email });

  it("denies the 6th sign-up from one IP in 10 minutes, counts a repeated id once, and records the shadow rule", async () => {
    const ex = await example("velocity-and-shadow.yaml");
    await writeEnrichmentFact(ex.keys, "email-domain", signup("192.0.2.77", "a@example.com"), {
      ...emailDomainFact("example.com"),
    });
    const ip = "192.0.2.77";
    const fresh = async (n: number) => ex.send("/pre-signup", signup(ip, `u${n}@example.com`));
    const first = [await fresh(1), await fresh(2), await fresh(3), await fresh(4)];
    // Scalekit retrying the 4th call: the same answer, and not counted again.
    const fourth = first[3]!;
    const repeats = [
      await ex.send("/pre-signup", signup(ip, "u4@example.com"), fourth.id),
      await ex.send("/pre-signup", signup(ip, "u4@example.com"), fourth.id),
    ];
    const fifth = await fresh(5);
    const sixth = await fresh(6);

    for (const sent of [...first, ...repeats, fifth]) expect(sent.answer).toEqual({ decision: "ALLOW" });
    expect(sixth.answer).toEqual(deny("Too many sign-ups from your network. Please try again later."));

    const audit = await ex.audit();
    expect(audit.size).toBe(6); // the repeats are not audited again
    const strict = { rule: "signups-per-ip-strict", decision: "DENY", reason: "velocity.ip_strict" };
    expect([...first, fifth, sixth].map(({ id }) => audit.get(id))).toMatchObject([
      { decision: "ALLOW", rule: null, shadow: [], counts: { "ip:600": 1 } },
      { decision: "ALLOW", rule: null, shadow: [], counts: { "ip:600": 2 } },
      { decision: "ALLOW", rule: null, shadow: [], counts: { "ip:600": 3 } },
      // Over the strict limit: answered ALLOW all the same, the shadow hit recorded.
      { decision: "ALLOW", rule: null, shadow: [strict], counts: { "ip:600": 4 } },
      { decision: "ALLOW", rule: null, shadow: [strict], counts: { "ip:600": 5 } },
      { decision: "DENY", rule: "signups-per-ip", reason: "velocity.ip", shadow: [strict] },
    ]);
  });

  it("denies the 51st sign-up from one email domain in an hour, but not from a free-mail domain", async () => {
    const ex = await example("velocity-and-shadow.yaml");
    // Each sign-up from its own address, so only the domain's counter adds up.
    const corp = (n: number) => signup(`198.51.100.${n}`, `user${n}@corp.example`);
    const gmail = (n: number) => signup(`203.0.113.${n}`, `user${n}@gmail.com`);
    await writeEnrichmentFact(ex.keys, "email-domain", corp(1), emailDomainFact("corp.example"));
    await writeEnrichmentFact(
      ex.keys,
      "email-domain",
      gmail(1),
      emailDomainFact("gmail.com", { freeMail: true }),
    );
    const fifty = Array.from({ length: 50 }, (_, i) => i + 1);
    const corpFifty = await Promise.all(fifty.map((n) => ex.send("/pre-signup", corp(n))));
    const gmailFifty = await Promise.all(fifty.map((n) => ex.send("/pre-signup", gmail(n))));
    for (const sent of [...corpFifty, ...gmailFifty]) expect(sent.answer).toEqual({ decision: "ALLOW" });

    const corp51 = await ex.send("/pre-signup", corp(51));
    const gmail51 = await ex.send("/pre-signup", gmail(51));
    expect(corp51.answer).toEqual(deny("Too many sign-ups from your email domain. Please try again later."));
    expect(gmail51.answer).toEqual({ decision: "ALLOW" });

    const audit = await ex.audit();
    expect(audit.get(corp51.id)).toMatchObject({
      rule: "signups-per-domain",
      reason: "velocity.email_domain",
      counts: { "emailDomain:3600": 51 },
    });
    expect(audit.get(gmail51.id)).toMatchObject({ rule: null, counts: { "emailDomain:3600": 51 } });
  });
});

describe("examples served by the built ingress over HTTP", () => {
  // The deployable ingress, as production runs it, reading the example file named by GATEHOUSE_POLICY.
  const servers: TsProcess[] = [];
  afterAll(async () => {
    await Promise.allSettled(servers.map((server) => server.kill()));
  });

  async function serve(file: string): Promise<string> {
    assertBuilt();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawnTs(INGRESS, [], {
      REDIS_URL: redisUrl,
      SCALEKIT_INTERCEPTOR_SECRET: SECRET,
      GATEHOUSE_KEY_PREFIX: `ex${randomUUID().slice(0, 8)}`,
      GATEHOUSE_POLICY: join(POLICIES, file),
      LOG_LEVEL: "warn",
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
    });
    servers.push(server);
    await vi.waitFor(
      async () => {
        assertAlive(server, "ingress");
        const response = await fetch(`${url}/readyz`).catch(() => undefined);
        expect(response?.status).toBe(200);
      },
      { timeout: 20_000, interval: 100 },
    );
    return url;
  }

  it("invite-only-signup.yaml and m2m-scopes.yaml answer what `gatehouse send` sends", async () => {
    const [signupUrl, m2mUrl] = await Promise.all([
      serve("invite-only-signup.yaml"),
      serve("m2m-scopes.yaml"),
    ]);
    const signup = (email: string) =>
      sendInterceptorRequest({
        url: signupUrl,
        secret: SECRET,
        trigger: "PRE_SIGNUP",
        body: buildRequestBody("PRE_SIGNUP", { email }),
      });
    const token = (client?: string) =>
      sendInterceptorRequest({
        url: m2mUrl,
        secret: SECRET,
        trigger: "PRE_M2M_TOKEN_CREATION",
        body: buildRequestBody("PRE_M2M_TOKEN_CREATION", { ...(client && { client }) }),
      });

    const [invited, stranger, deployment, unknown] = await Promise.all([
      signup("ada@example.com"),
      signup("eve@elsewhere.example"),
      token(),
      token("m2morg_unknown"),
    ]);
    expect([invited.status, invited.answer]).toEqual([200, { decision: "ALLOW" }]);
    expect(stranger.answer).toEqual(NOT_INVITED);
    expect(deployment.answer).toEqual(DEPLOYMENT_TOKEN);
    expect(unknown.answer).toEqual(UNKNOWN_CLIENT);
  }, 30_000);
});
