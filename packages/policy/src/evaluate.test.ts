import {
  type InterceptorRequest,
  parseInterceptorRequest,
  type RequestFixtureName,
  requestFixture,
} from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { type CompiledTrigger, compilePolicy } from "./compile-policy.js";
import { DEFAULT_POLICY } from "./default-policy.js";
import { evaluate, evaluateUnless } from "./evaluate.js";
import type { PolicyFacts, TeamFacts } from "./facts.js";
import { type PolicyInput, policySchema } from "./policy-schema.js";
import { requestView } from "./request-view.js";

const emailFact = (over: Partial<NonNullable<PolicyFacts["email-domain"]>> = {}): PolicyFacts => ({
  "email-domain": {
    domain: "acme.test",
    registrable: "acme.test",
    disposable: false,
    freeMail: false,
    mx: "present",
    ...over,
  },
});
const ipFact = (over: Partial<NonNullable<PolicyFacts["ip-reputation"]>> = {}): PolicyFacts => ({
  "ip-reputation": {
    lists: [],
    listed: false,
    range: "unicast",
    asn: null,
    asOrganization: null,
    country: null,
    anonymous: null,
    hosting: null,
    ...over,
  },
});

function request(fixture: RequestFixtureName, context: Record<string, unknown> = {}, data?: unknown) {
  const body = requestFixture(fixture) as { interceptor_context: Record<string, unknown>; data?: unknown };
  Object.assign(body.interceptor_context, context);
  if (data !== undefined) body.data = data;
  const parsed = parseInterceptorRequest(body);
  if (!parsed.ok) throw new Error(`bad test request: ${JSON.stringify(parsed)}`);
  return parsed.request;
}

function trigger(policy: PolicyInput, name: InterceptorRequest["trigger_point"]): CompiledTrigger {
  const compiled = compilePolicy(policySchema.parse(policy)).triggers.get(name);
  if (!compiled) throw new Error(`no ${name} in the test policy`);
  return compiled;
}

function run(
  compiled: CompiledTrigger,
  req: InterceptorRequest,
  facts: PolicyFacts = {},
  team: TeamFacts = {},
  counts: Record<string, number> = {},
) {
  return evaluate(compiled, { view: requestView(req), facts, team, counts: new Map(Object.entries(counts)) });
}

/** A PRE_SIGNUP policy with one DENY rule on `when`. */
const denyWhen = (when: unknown, extra: Record<string, unknown> = {}): PolicyInput => ({
  version: 1,
  triggers: {
    PRE_SIGNUP: {
      rules: [{ name: "r", when, outcome: { decision: "DENY", reason: "test.deny" }, ...extra }],
    },
  },
});
const signupDecision = (
  when: unknown,
  req: InterceptorRequest,
  facts: PolicyFacts = {},
  team: TeamFacts = {},
) => run(trigger(denyWhen(when), "PRE_SIGNUP"), req, facts, team).answer.decision;

describe("requestView", () => {
  it("reads a field sent as null as absent, and falls back to the body's other sources", () => {
    const view = requestView(
      request(
        "PRE_SESSION_CREATION",
        { ip_address: null, organization_id: null, client_id: null, city: null, region: null },
        {
          user: { id: "usr_1", memberships: [{ organization_id: null, status: null, roles: null }] },
          organization: { id: "org_from_body" },
        },
      ),
    );
    expect(view.ip).toBeUndefined();
    expect(view.address).toBeUndefined();
    expect(view.city).toBeUndefined();
    expect(view.region).toBeUndefined();
    expect(view.clientId).toBeUndefined();
    expect(view.organizationId).toBe("org_from_body");
    expect(view.userExists).toBe(true);
    expect(view.memberships).toEqual([{ organizationId: undefined, status: undefined, roles: [] }]);
  });
});

describe("evaluate: the default policy", () => {
  const signup = compilePolicy(DEFAULT_POLICY).triggers.get("PRE_SIGNUP")!;
  const signupRequest = request("PRE_SIGNUP_NEW_USER");

  it("denies a disposable domain with the user-facing message and the internal reason", () => {
    const result = run(signup, signupRequest, emailFact({ disposable: true }));
    expect(result.reason).toBe("email.disposable");
    expect(result.rule).toBe("disposable-email");
    expect(result.answer).toEqual({
      decision: "DENY",
      error: { message: expect.stringMatching(/disposable/) },
    });
  });

  it("denies a listed IP, and allows by default with nothing to record", () => {
    expect(run(signup, signupRequest, { ...emailFact(), ...ipFact({ listed: true }) }).reason).toBe(
      "ip.blocklisted",
    );
    expect(run(signup, signupRequest, emailFact())).toEqual({
      answer: { decision: "ALLOW" },
      reason: "policy.default",
      shadow: [],
    });
  });

  it("matches nothing on a fact that is not known", () => {
    expect(run(signup, signupRequest).answer.decision).toBe("ALLOW");
  });
});

describe("conditions on the request", () => {
  const req = request("PRE_SIGNUP_NEW_USER", { user_email: "Jane@Eu.AcmeCorp.com" });

  it("email: exact address, case-insensitive, inline or from a named list", () => {
    expect(signupDecision({ email: { in: ["jane@eu.acmecorp.com"] } }, req)).toBe("DENY");
    expect(signupDecision({ email: { in: ["john@eu.acmecorp.com"] } }, req)).toBe("ALLOW");
    const listed = trigger(
      { ...denyWhen({ email: { inList: "vips" } }), lists: { vips: ["JANE@eu.acmecorp.com"] } },
      "PRE_SIGNUP",
    );
    expect(run(listed, req).answer.decision).toBe("DENY");
  });

  it("emailDomain.in covers the domain and every subdomain of it, IDN domains included", () => {
    expect(signupDecision({ emailDomain: { in: ["acmecorp.com"] } }, req)).toBe("DENY");
    expect(signupDecision({ emailDomain: { in: ["eu.acmecorp.com"] } }, req)).toBe("DENY");
    expect(signupDecision({ emailDomain: { in: ["us.acmecorp.com", "corp.com"] } }, req)).toBe("ALLOW");
    const idn = request("PRE_SIGNUP_NEW_USER", { user_email: "anna@bücher.example" });
    expect(signupDecision({ emailDomain: { in: ["xn--bcher-kva.example"] } }, idn)).toBe("DENY");
    expect(signupDecision({ emailDomain: { in: ["BÜCHER.example."] } }, idn)).toBe("DENY");
  });

  it("ip.in matches IPv4 and IPv6 CIDR blocks, and an IPv4-mapped address as its IPv4 address", () => {
    const v4 = request("PRE_SIGNUP_NEW_USER", { ip_address: "198.51.100.42" });
    const v6 = request("PRE_SIGNUP_NEW_USER", { ip_address: "2001:db8:1::7" });
    const mapped = request("PRE_SIGNUP_NEW_USER", { ip_address: "::ffff:198.51.100.42" });
    const when = { ip: { in: ["198.51.100.0/24", "2001:db8:1::/48"] } };
    expect(signupDecision(when, v4)).toBe("DENY");
    expect(signupDecision(when, v6)).toBe("DENY");
    expect(signupDecision(when, mapped)).toBe("DENY");
    expect(signupDecision({ ip: { in: ["198.51.101.0/24", "2001:db8:2::/48"] } }, v4)).toBe("ALLOW");
    expect(signupDecision({ ip: { in: ["198.51.100.42"] } }, v4)).toBe("DENY");
    expect(signupDecision({ ip: { in: ["::ffff:198.51.100.0/120"] } }, v4)).toBe("DENY");
  });

  it("location, device and connection compare case-insensitively; absent means no match", () => {
    expect(signupDecision({ location: { region: ["us", "CA"] } }, req)).toBe("DENY");
    expect(signupDecision({ location: { city: ["austin"] } }, req)).toBe("DENY");
    expect(signupDecision({ location: { region: ["DE"] } }, req)).toBe("ALLOW");
    expect(signupDecision({ device: { type: ["mobile"] } }, req)).toBe("DENY");
    expect(signupDecision({ connection: { type: ["passwordless"], provider: ["SCALEKIT"] } }, req)).toBe(
      "DENY",
    );
    expect(signupDecision({ connection: { provider: ["GOOGLE"] } }, req)).toBe("ALLOW");
    const noRegion = request("PRE_SIGNUP_NEW_USER", { region: null });
    expect(signupDecision({ not: { location: { region: ["US"] } } }, noRegion)).toBe("DENY");
    expect(signupDecision({ location: { region: ["US"] } }, noRegion)).toBe("ALLOW");
  });

  it("user: exists, memberships and roles come from the user Scalekit sends", () => {
    const existing = request("PRE_SIGNUP");
    const fresh = request("PRE_SIGNUP_NEW_USER");
    expect(signupDecision({ user: { exists: true } }, existing)).toBe("DENY");
    expect(signupDecision({ user: { exists: true } }, fresh)).toBe("ALLOW");
    expect(signupDecision({ user: { membershipsAtLeast: 1, roles: ["admin"] } }, existing)).toBe("DENY");
    expect(signupDecision({ user: { roles: ["owner"] } }, existing)).toBe("ALLOW");
  });

  it("user: membership status narrows memberships and roles; emailVerified as Scalekit sends it", () => {
    const existing = request("PRE_SIGNUP"); // one ACTIVE admin membership, email verified
    expect(signupDecision({ user: { membershipStatus: ["active"] } }, existing)).toBe("DENY");
    expect(signupDecision({ user: { membershipStatus: ["PENDING_INVITE"] } }, existing)).toBe("ALLOW");
    expect(signupDecision({ user: { membershipStatus: ["ACTIVE"], roles: ["admin"] } }, existing)).toBe(
      "DENY",
    );
    expect(signupDecision({ user: { membershipStatus: ["INACTIVE"], roles: ["admin"] } }, existing)).toBe(
      "ALLOW",
    );
    expect(
      signupDecision({ user: { membershipStatus: ["INACTIVE"], membershipsAtLeast: 1 } }, existing),
    ).toBe("ALLOW");
    expect(signupDecision({ user: { emailVerified: true } }, existing)).toBe("DENY");
    expect(signupDecision({ user: { emailVerified: false } }, existing)).toBe("ALLOW");
    // A user Scalekit does not describe is neither verified nor unverified.
    const fresh = request("PRE_SIGNUP_NEW_USER");
    expect(signupDecision({ user: { emailVerified: false } }, fresh)).toBe("ALLOW");
  });

  it("all, any and not combine; several fields in one condition must all hold", () => {
    expect(
      signupDecision({ all: [{ device: { type: ["Mobile"] } }, { location: { region: ["US"] } }] }, req),
    ).toBe("DENY");
    expect(
      signupDecision({ any: [{ device: { type: ["Desktop"] } }, { location: { region: ["US"] } }] }, req),
    ).toBe("DENY");
    expect(signupDecision({ device: { type: ["Mobile"] }, location: { region: ["DE"] } }, req)).toBe("ALLOW");
    expect(signupDecision({ not: { device: { type: ["Mobile"] } } }, req)).toBe("ALLOW");
  });
});

describe("conditions on cached facts", () => {
  const req = request("PRE_SIGNUP_NEW_USER");

  it("emailDomain facts, and known: false for a domain not looked up yet", () => {
    expect(signupDecision({ emailDomain: { mx: "absent" } }, req, emailFact({ mx: "absent" }))).toBe("DENY");
    expect(signupDecision({ emailDomain: { freeMail: true } }, req, emailFact())).toBe("ALLOW");
    expect(signupDecision({ emailDomain: { known: false } }, req)).toBe("DENY");
    expect(signupDecision({ emailDomain: { known: false } }, req, emailFact())).toBe("ALLOW");
  });

  it("ip facts: lists, ranges, ASN, country, anonymous and hosting; null never matches", () => {
    const facts = ipFact({ lists: ["tor"], listed: true, asn: 64500, country: "DE", anonymous: true });
    expect(signupDecision({ ip: { lists: ["spamhaus", "tor"] } }, req, facts)).toBe("DENY");
    expect(signupDecision({ ip: { asn: [64500] } }, req, facts)).toBe("DENY");
    expect(signupDecision({ ip: { country: ["de"] } }, req, facts)).toBe("DENY");
    expect(signupDecision({ ip: { anonymous: true } }, req, facts)).toBe("DENY");
    expect(signupDecision({ ip: { hosting: false } }, req, facts)).toBe("ALLOW");
    expect(
      signupDecision({ ip: { range: ["private", "loopback"] } }, req, ipFact({ range: "private" })),
    ).toBe("DENY");
  });
});

describe("fact: any enrichment's fact, field by field", () => {
  const req = request("PRE_SIGNUP_NEW_USER");
  // What a team's own enrichment might cache: nothing the built-in conditions name.
  const domainAge = (fact: Record<string, unknown>) => ({ "domain-age": fact }) as PolicyFacts;

  it("tests a field with equals, in, atLeast and atMost; every test written must hold", () => {
    const young = domainAge({ ageDays: 3, registrar: "cheap-names", whois: { privacy: true } });
    const when = (test: Record<string, unknown>) => ({ fact: { enrichment: "domain-age", ...test } });
    expect(signupDecision(when({ field: "ageDays", atMost: 30 }), req, young)).toBe("DENY");
    expect(signupDecision(when({ field: "ageDays", atLeast: 30 }), req, young)).toBe("ALLOW");
    expect(signupDecision(when({ field: "ageDays", atLeast: 1, atMost: 5 }), req, young)).toBe("DENY");
    expect(signupDecision(when({ field: "registrar", in: ["cheap-names", "x"] }), req, young)).toBe("DENY");
    expect(signupDecision(when({ field: "registrar", equals: "Cheap-Names" }), req, young)).toBe("ALLOW");
    expect(signupDecision(when({ field: "whois.privacy", equals: true }), req, young)).toBe("DENY");
    // atLeast and atMost compare numbers only.
    expect(signupDecision(when({ field: "registrar", atLeast: 0 }), req, young)).toBe("ALLOW");
  });

  it("matches nothing while the fact is not cached, or has no such field", () => {
    const when = { fact: { enrichment: "domain-age", field: "ageDays", atMost: 30 } };
    expect(signupDecision(when, req)).toBe("ALLOW");
    expect(signupDecision(when, req, domainAge({ registrar: "x" }))).toBe("ALLOW");
    expect(signupDecision(when, req, domainAge({ ageDays: null }))).toBe("ALLOW");
    const inherited = { fact: { enrichment: "domain-age", field: "toString", equals: "x" } };
    expect(signupDecision(inherited, req, domainAge({}))).toBe("ALLOW");
  });

  it("reads the enrichment's fact: the ingress fetches it, and waits for it like any other", () => {
    const compiled = trigger(
      denyWhen({ fact: { enrichment: "domain-age", field: "ageDays", atMost: 30 } }),
      "PRE_SIGNUP",
    );
    expect(compiled.needs.facts).toEqual(["domain-age"]);
    expect(compiled.needs.comparedFields).toEqual(
      new Map([["domain-age", [{ field: "ageDays", path: ["ageDays"] }]]]),
    );
    const input = { view: requestView(req), facts: {}, team: {}, counts: new Map() };
    expect(evaluateUnless(compiled, input, new Set(["domain-age"]))).toBeUndefined();
  });

  it("known: false matches a request with a subject for the enrichment and no fact cached; known: true a cached fact", () => {
    // The team's package finds its subject in the request's IP address, as ip-reputation does.
    const enrichments = {
      "domain-age": { fromRequest: (r: InterceptorRequest) => r.interceptor_context.ip_address ?? undefined },
    };
    const decide = (known: boolean, on: InterceptorRequest, facts: PolicyFacts) => {
      const policy = policySchema.parse(denyWhen({ fact: { enrichment: "domain-age", known } }));
      const compiled = compilePolicy(policy, { enrichments }).triggers.get("PRE_SIGNUP") as CompiledTrigger;
      expect(compiled.needs.facts).toEqual(["domain-age"]);
      expect(compiled.needs.comparedFields.size).toBe(0);
      return evaluate(compiled, { view: requestView(on), facts, team: {}, counts: new Map() }).answer
        .decision;
    };
    const noSubject = request("PRE_SIGNUP_NEW_USER", { ip_address: null });
    const cached = domainAge({ ageDays: 3 });
    expect(decide(false, req, {})).toBe("DENY");
    expect(decide(false, req, cached)).toBe("ALLOW");
    expect(decide(false, noSubject, {})).toBe("ALLOW");
    expect(decide(true, req, cached)).toBe("DENY");
    expect(decide(true, req, {})).toBe("ALLOW");
    expect(decide(true, noSubject, cached)).toBe("ALLOW");
  });

  it("known beside a field's test: both must hold", () => {
    const when = { fact: { enrichment: "domain-age", known: true, field: "ageDays", atMost: 30 } };
    expect(signupDecision(when, req, domainAge({ ageDays: 3 }))).toBe("DENY");
    expect(signupDecision(when, req, domainAge({ ageDays: 300 }))).toBe("ALLOW");
    expect(signupDecision(when, req, {})).toBe("ALLOW");
  });

  it("reads fields the built-in conditions do not name, of the shipped enrichments too", () => {
    const when = { fact: { enrichment: "email-domain", field: "registrable", equals: "acme.test" } };
    expect(signupDecision(when, req, emailFact())).toBe("DENY");
    expect(signupDecision(when, req, emailFact({ registrable: "other.test" }))).toBe("ALLOW");
  });
});

describe("compilePolicy with the registered enrichments", () => {
  const policy = policySchema.parse(
    denyWhen({ fact: { enrichment: "domain-age", field: "ageDays", atMost: 30 } }),
  );

  const registered = (...names: string[]) =>
    Object.fromEntries(names.map((name) => [name, { fromRequest: () => name }]));

  it("refuses a fact condition naming an enrichment that is not registered, saying which are", () => {
    expect(() =>
      compilePolicy(policy, { enrichments: registered("email-domain", "ip-reputation"), file: "p.yaml" }),
    ).toThrow(
      'invalid policy p.yaml:\n  triggers.PRE_SIGNUP, rule "r": no enrichment named "domain-age" is registered ' +
        "(registered: email-domain, ip-reputation)",
    );
    expect(
      compilePolicy(policy, { enrichments: registered("domain-age") }).triggers.get("PRE_SIGNUP")?.needs
        .facts,
    ).toEqual(["domain-age"]);
  });

  it("refuses a fact condition with no test, or names that cannot be an enrichment or a field", () => {
    const problems = (fact: unknown) => {
      const parsed = policySchema.safeParse(denyWhen({ fact }));
      return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
    };
    expect(problems({ enrichment: "domain-age" })).toEqual([
      "names no test: equals, in, atLeast, atMost or known",
    ]);
    expect(problems({ enrichment: "domain-age", field: "ageDays" })).toEqual([
      "names no test: equals, in, atLeast, atMost or known",
    ]);
    expect(problems({ enrichment: "domain-age", field: "ageDays", known: true })).toEqual([
      "a field needs a test: equals, in, atLeast or atMost",
    ]);
    expect(problems({ enrichment: "domain-age", atMost: 30 })).toEqual([
      "equals, in, atLeast and atMost need a field",
    ]);
    expect(problems({ enrichment: "Domain Age", field: "ageDays", equals: 1 })).toEqual([
      "an enrichment's name: kebab-case",
    ]);
    expect(problems({ enrichment: "domain-age", field: "age..days", equals: 1 })).toEqual([
      "a field name, or names joined by dots",
    ]);
  });
});

describe("invitations: facts the team wrote about the organization", () => {
  const invite = (email: string) => request("PRE_USER_INVITATION", { user_email: email });
  const policy: PolicyInput = {
    version: 1,
    triggers: {
      PRE_USER_INVITATION: {
        rules: [
          {
            name: "outside-domains",
            when: { emailDomain: { allowedByOrganization: false } },
            outcome: { decision: "DENY", reason: "invite.domain", message: "Not one of your domains." },
          },
          {
            name: "seat-limit",
            when: { organization: { memberCountAtLeast: 50 } },
            outcome: { decision: "DENY", reason: "invite.full" },
          },
        ],
      },
    },
  };
  const compiled = trigger(policy, "PRE_USER_INVITATION");
  const org = (memberCount: number): TeamFacts => ({
    organization: { memberCount, allowedDomains: ["contractor.com", "acme.com"] },
  });

  it("reads the organization fact and needs it, and nothing else", () => {
    expect(compiled.needs).toEqual({
      facts: [],
      team: ["organization"],
      counters: [],
      comparedFields: new Map(),
    });
  });

  it("denies an invitee outside the allowed domains, and at the member limit", () => {
    expect(run(compiled, invite("sam@contractor.com"), {}, org(10)).answer.decision).toBe("ALLOW");
    expect(run(compiled, invite("sam@eu.acme.com"), {}, org(10)).answer.decision).toBe("ALLOW");
    expect(run(compiled, invite("sam@gmail.com"), {}, org(10)).reason).toBe("invite.domain");
    expect(run(compiled, invite("sam@contractor.com"), {}, org(50)).reason).toBe("invite.full");
  });

  it("decides nothing on an organization the team wrote nothing about", () => {
    expect(run(compiled, invite("sam@gmail.com")).reason).toBe("policy.default");
  });
});

describe("M2M", () => {
  const m2m = request("PRE_M2M_TOKEN_CREATION");
  const policy: PolicyInput = {
    version: 1,
    triggers: {
      PRE_M2M_TOKEN_CREATION: {
        rules: [
          {
            name: "unknown-client",
            when: { not: { client: { in: ["m2morg_93710427703245914"] } } },
            outcome: { decision: "DENY", reason: "m2m.client" },
          },
        ],
        default: {
          decision: "ALLOW",
          scopes: { allow: ["deploy:applications", "read:deployments"] },
          aud: "https://api.acmecorp.com",
          claims: { environment: "production" },
        },
      },
    },
  };

  it("rewrites scope to the allowed subset and sets aud and static claims", () => {
    expect(run(trigger(policy, "PRE_M2M_TOKEN_CREATION"), m2m).answer).toEqual({
      decision: "ALLOW",
      response: {
        claims: {
          environment: "production",
          scope: "deploy:applications read:deployments",
          aud: "https://api.acmecorp.com",
        },
      },
    });
  });

  it("matches scopes outside a set, and a client by id", () => {
    const when = (condition: unknown): PolicyInput => ({
      version: 1,
      triggers: {
        PRE_M2M_TOKEN_CREATION: {
          rules: [{ name: "r", when: condition, outcome: { decision: "DENY", reason: "m2m.scope" } }],
        },
      },
    });
    const decide = (condition: unknown) =>
      run(trigger(when(condition), "PRE_M2M_TOKEN_CREATION"), m2m).answer.decision;
    expect(decide({ scopes: { outside: ["deploy:applications", "read:deployments"] } })).toBe("DENY");
    expect(decide({ scopes: { outside: ["deploy:applications", "read:deployments", "write:logs"] } })).toBe(
      "ALLOW",
    );
    expect(decide({ scopes: { includesAny: ["write:logs"] } })).toBe("DENY");
    expect(decide({ organization: { in: ["org_89669394174574792"] } })).toBe("DENY");
    expect(
      run(
        trigger(policy, "PRE_M2M_TOKEN_CREATION"),
        request("PRE_M2M_TOKEN_CREATION", { client_id: "other" }),
      ).reason,
    ).toBe("m2m.client");
  });
});

describe("outcomes", () => {
  it("provisions by email domain (or a parent), with roles", () => {
    const compiled = trigger(
      {
        version: 1,
        triggers: {
          PRE_SIGNUP: {
            default: {
              decision: "ALLOW",
              membershipByEmailDomain: {
                "acmecorp.com": { organization_id: "org_acme", roles: ["member"] },
              },
            },
          },
        },
      },
      "PRE_SIGNUP",
    );
    expect(run(compiled, request("PRE_SIGNUP", { user_email: "jo@eu.acmecorp.com" })).answer).toEqual({
      decision: "ALLOW",
      response: { create_organization_membership: { organization_id: "org_acme", roles: ["member"] } },
    });
    expect(run(compiled, request("PRE_SIGNUP", { user_email: "jo@other.com" })).answer).toEqual({
      decision: "ALLOW",
    });
  });

  it("merges cached claims, team claims and static claims, static last", () => {
    const compiled = trigger(
      {
        version: 1,
        triggers: {
          PRE_SESSION_CREATION: {
            default: { decision: "ALLOW", cachedClaims: true, teamClaims: true, claims: { tier: "static" } },
          },
        },
      },
      "PRE_SESSION_CREATION",
    );
    expect(compiled.needs).toEqual({
      facts: ["user-claims"],
      team: ["user"],
      counters: [],
      comparedFields: new Map(),
    });
    const result = run(
      compiled,
      request("PRE_SESSION_CREATION"),
      { "user-claims": { claims: { plan: "pro", tier: "service" } } },
      { user: { claims: { seats: 25, tier: "team" } } },
    );
    expect(result.answer).toEqual({
      decision: "ALLOW",
      response: { claims: { plan: "pro", seats: 25, tier: "static" } },
    });
  });
  it("answers a bare ALLOW when no source has a claim for the user", () => {
    const compiled = trigger(
      {
        version: 1,
        triggers: {
          PRE_SESSION_CREATION: { default: { decision: "ALLOW", cachedClaims: true, teamClaims: true } },
        },
      },
      "PRE_SESSION_CREATION",
    );
    const result = run(compiled, request("PRE_SESSION_CREATION"), { "user-claims": { claims: {} } }, {});
    expect(result.answer).toEqual({ decision: "ALLOW" });
  });
});

describe("velocity", () => {
  const policy = denyWhen({ velocity: { per: "ip", window: "10m", over: 5 } });

  it("needs one counter per (subject, window), and denies above the limit", () => {
    const compiled = trigger(policy, "PRE_SIGNUP");
    expect(compiled.needs.counters).toEqual([{ per: "ip", window: 600, over: 0 }]);
    const req = request("PRE_SIGNUP_NEW_USER");
    expect(run(compiled, req, {}, {}, { "ip:600": 5 }).answer.decision).toBe("ALLOW");
    expect(run(compiled, req, {}, {}, { "ip:600": 5.5 }).answer.decision).toBe("DENY");
  });
});

describe("shadow", () => {
  const req = request("PRE_SIGNUP_NEW_USER");

  it("records a shadow rule that would have decided, and answers as if it were not there", () => {
    const policy: PolicyInput = {
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [
            {
              name: "block-mobile",
              shadow: true,
              when: { device: { type: ["Mobile"] } },
              outcome: { decision: "DENY", reason: "device.mobile" },
            },
            {
              name: "block-us",
              when: { location: { region: ["US"] } },
              outcome: { decision: "DENY", reason: "region.us" },
            },
          ],
        },
      },
    };
    expect(run(trigger(policy, "PRE_SIGNUP"), req)).toEqual({
      answer: { decision: "DENY" },
      reason: "region.us",
      rule: "block-us",
      shadow: [{ rule: "block-mobile", decision: "DENY", reason: "device.mobile" }],
    });
  });

  it("a trigger in shadow answers ALLOW and records what it would have done", () => {
    const policy = { ...denyWhen({ device: { type: ["Mobile"] } }) };
    (policy.triggers as Record<string, Record<string, unknown>>).PRE_SIGNUP!.shadow = true;
    expect(run(trigger(policy, "PRE_SIGNUP"), req)).toEqual({
      answer: { decision: "ALLOW" },
      reason: "policy.shadow",
      shadow: [{ rule: "r", decision: "DENY", reason: "test.deny" }],
    });
  });
});

describe("evaluateUnless: deciding before missing facts arrive", () => {
  const policy: PolicyInput = {
    version: 1,
    triggers: {
      PRE_SIGNUP: {
        rules: [
          {
            name: "region",
            when: { location: { region: ["KP"] } },
            outcome: { decision: "DENY", reason: "region" },
          },
          {
            name: "shadow-mx",
            shadow: true,
            when: { emailDomain: { mx: "absent" } },
            outcome: { decision: "DENY", reason: "mx" },
          },
          {
            name: "disposable",
            when: { emailDomain: { disposable: true } },
            outcome: { decision: "DENY", reason: "disposable" },
          },
          {
            name: "office",
            when: { ip: { in: ["10.0.0.0/8"] } },
            outcome: { decision: "ALLOW", reason: "office" },
          },
        ],
      },
    },
  };
  const compiled = trigger(policy, "PRE_SIGNUP");
  const input = (context: Record<string, unknown>) => ({
    view: requestView(request("PRE_SIGNUP_NEW_USER", context)),
    facts: {},
    team: {},
    counts: new Map(),
  });
  const missing = new Set(["email-domain"] as const);

  it("decides when a rule before the ones reading a missing fact matches", () => {
    expect(evaluateUnless(compiled, input({ region: "KP" }), missing)).toMatchObject({ rule: "region" });
  });

  it("is undecided when a rule reading a missing fact comes first (shadow rules do not count)", () => {
    expect(
      evaluateUnless(compiled, input({ region: "US", ip_address: "10.1.2.3" }), missing),
    ).toBeUndefined();
  });

  it("equals evaluate when nothing is missing", () => {
    const everything = input({ region: "US", ip_address: "10.1.2.3" });
    expect(evaluateUnless(compiled, everything, new Set())).toEqual(evaluate(compiled, everything));
    expect(evaluate(compiled, everything).rule).toBe("office");
  });
});
