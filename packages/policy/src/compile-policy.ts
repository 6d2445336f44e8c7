import type { Decision, InterceptorRequest, TriggerPoint } from "@gatehouse/contracts";
import { AddressMatcher } from "./address-matcher.js";
import type { Condition, FactTest, Velocity, VelocitySubject } from "./condition-schema.js";
import { coveredBy, DomainSet } from "./domain-set.js";
import { PolicyError } from "./errors/policy-error.js";
import { type EvaluationInput, type FactName, factOf, fieldAt, type TeamFactName } from "./facts.js";
import { normalizeDomain, normalizeEmail } from "./normalize.js";
import type { Membership, Outcome } from "./outcome-schema.js";
import type { Policy, TriggerPolicy } from "./policy-schema.js";
import type { RequestView } from "./request-view.js";

export type Predicate = (input: EvaluationInput) => boolean;

/** What the ingress reads for one trigger, in its one Redis round trip. */
export interface ReadNeeds {
  readonly facts: readonly FactName[];
  readonly team: readonly TeamFactName[];
  /** One counter per distinct (per, window), incremented once per request. */
  readonly counters: readonly Velocity[];
  /** The fields `fact` conditions compare, by enrichment: what the audit records of those facts. */
  readonly comparedFields: ReadonlyMap<string, readonly ComparedField[]>;
}

/** A field a `fact` condition compares: as written, and as the path `fieldAt` walks (split once, here). */
export interface ComparedField {
  readonly field: string;
  readonly path: readonly string[];
}

export interface CompiledRule {
  readonly name: string;
  readonly shadow: boolean;
  readonly outcome: CompiledOutcome;
  readonly test: Predicate;
  /** The cached facts its condition or outcome reads: while one is missing, the rule cannot be decided. */
  readonly reads: ReadonlySet<FactName>;
}

export type CompiledOutcome = Outcome & {
  /** `membershipByEmailDomain` with normalized domains. */
  readonly membershipByDomain?: ReadonlyMap<string, Membership>;
  readonly allowedScopes?: ReadonlySet<string>;
};

export interface CompiledTrigger {
  readonly trigger: TriggerPoint;
  readonly policy: TriggerPolicy;
  readonly rules: readonly CompiledRule[];
  readonly default: CompiledOutcome;
  /** The cached facts the default outcome reads (cached claims). */
  readonly defaultReads: ReadonlySet<FactName>;
  readonly needs: ReadNeeds;
}

export interface CompiledPolicy {
  readonly source: Policy;
  readonly unknownTrigger: Decision;
  readonly triggers: ReadonlyMap<TriggerPoint, CompiledTrigger>;
}

/** The counter a velocity condition reads: one per subject kind and window length. */
export const velocityCounterId = (velocity: Velocity) => `${velocity.per}:${velocity.window}`;

/** The subject a velocity limit counts, from the request; undefined when the request has none. */
export function velocitySubject(view: RequestView, per: VelocitySubject): string | undefined {
  if (per === "ip") return view.ip;
  if (per === "emailDomain") return view.emailDomain;
  if (per === "organization") return view.organizationId;
  return view.clientId;
}

class NeedsBuilder {
  readonly facts = new Set<FactName>();
  readonly team = new Set<TeamFactName>();
  readonly counters = new Map<string, Velocity>();
  readonly compared = new Map<string, Map<string, ComparedField>>();

  compare(enrichment: string, field: string): ComparedField {
    this.facts.add(enrichment);
    const fields = this.compared.get(enrichment) ?? new Map<string, ComparedField>();
    this.compared.set(enrichment, fields);
    const compared = fields.get(field) ?? { field, path: field.split(".") };
    fields.set(field, compared);
    return compared;
  }

  add(other: NeedsBuilder): void {
    for (const fact of other.facts) this.facts.add(fact);
    for (const team of other.team) this.team.add(team);
    for (const [id, counter] of other.counters) this.counters.set(id, counter);
    for (const [enrichment, fields] of other.compared)
      for (const field of fields.keys()) this.compare(enrichment, field);
  }

  build(): ReadNeeds {
    return {
      facts: [...this.facts],
      team: [...this.team],
      counters: [...this.counters.values()],
      comparedFields: new Map(
        [...this.compared].map(([enrichment, fields]) => [enrichment, [...fields.values()]]),
      ),
    };
  }
}

/** What compiling a condition needs besides the condition. */
interface CompileContext {
  readonly lists: Policy["lists"];
  /** Whether a request has a subject for the enrichment (its package's `fromRequest` finds one). */
  readonly hasSubject: (enrichment: string) => (view: RequestView) => boolean;
}

const lowerSet = (values: readonly string[]) => new Set(values.map((value) => value.toLowerCase()));
const oneOf = <T>(values: readonly T[] | undefined, wanted: readonly T[]) =>
  values?.some((value) => wanted.includes(value)) ?? false;

/** Every field written must hold; fields are compiled to small closures once per policy load. */
function compileCondition(condition: Condition, context: CompileContext, needs: NeedsBuilder): Predicate {
  const tests: Predicate[] = [];
  const { lists } = context;
  const list = (name: string | undefined) => (name === undefined ? [] : (lists[name] ?? []));

  if (condition.all) {
    const parts = condition.all.map((c) => compileCondition(c, context, needs));
    tests.push((input) => parts.every((part) => part(input)));
  }
  if (condition.any) {
    const parts = condition.any.map((c) => compileCondition(c, context, needs));
    tests.push((input) => parts.some((part) => part(input)));
  }
  if (condition.not) {
    const part = compileCondition(condition.not, context, needs);
    tests.push((input) => !part(input));
  }

  const email = condition.email;
  if (email) {
    const wanted = new Set([...(email.in ?? []), ...list(email.inList)].map(normalizeEmail));
    tests.push(({ view }) => view.email !== undefined && wanted.has(view.email));
  }

  const domain = condition.emailDomain;
  if (domain) {
    if (domain.in || domain.inList) {
      const wanted = new DomainSet([...(domain.in ?? []), ...list(domain.inList)]);
      tests.push(({ view }) => view.emailDomain !== undefined && wanted.has(view.emailDomain));
    }
    const { disposable, freeMail, mx, known, allowedByOrganization } = domain;
    if (known !== undefined) {
      needs.facts.add("email-domain");
      tests.push(
        ({ view, facts }) =>
          view.emailDomain !== undefined && (facts["email-domain"] !== undefined) === known,
      );
    }
    if (disposable !== undefined || freeMail !== undefined || mx !== undefined) {
      needs.facts.add("email-domain");
      tests.push(({ facts }) => {
        const fact = facts["email-domain"];
        return (
          fact !== undefined &&
          (disposable === undefined || fact.disposable === disposable) &&
          (freeMail === undefined || fact.freeMail === freeMail) &&
          (mx === undefined || fact.mx === mx)
        );
      });
    }
    if (allowedByOrganization !== undefined) {
      needs.team.add("organization");
      tests.push(({ view, team }) => {
        const allowed = team.organization?.allowedDomains;
        if (allowed === undefined || view.emailDomain === undefined) return false;
        const domain = view.emailDomain;
        return coveredBy(domain, (parent) => allowed.includes(parent)) === allowedByOrganization;
      });
    }
  }

  const ip = condition.ip;
  if (ip) {
    if (ip.in || ip.inList) {
      const matcher = new AddressMatcher([...(ip.in ?? []), ...list(ip.inList)]);
      tests.push(({ view }) => view.address !== undefined && matcher.has(view.address));
    }
    const { listed, lists: onLists, range, asn, country, anonymous, hosting, known } = ip;
    const countries = country?.map((code) => code.toUpperCase());
    const factFields = [listed, onLists, range, asn, countries, anonymous, hosting];
    if (known !== undefined) {
      needs.facts.add("ip-reputation");
      tests.push(
        ({ view, facts }) => view.ip !== undefined && (facts["ip-reputation"] !== undefined) === known,
      );
    }
    if (factFields.some((field) => field !== undefined)) {
      needs.facts.add("ip-reputation");
      tests.push(({ facts }) => {
        const fact = facts["ip-reputation"];
        return (
          fact !== undefined &&
          (listed === undefined || fact.listed === listed) &&
          (onLists === undefined || oneOf(fact.lists, onLists)) &&
          (range === undefined || range.includes(fact.range)) &&
          (asn === undefined || (fact.asn !== null && asn.includes(fact.asn))) &&
          (countries === undefined || (fact.country !== null && countries.includes(fact.country))) &&
          (anonymous === undefined || fact.anonymous === anonymous) &&
          (hosting === undefined || fact.hosting === hosting)
        );
      });
    }
  }

  const location = condition.location;
  if (location?.region) {
    const regions = new Set(location.region.map((region) => region.toUpperCase()));
    tests.push(({ view }) => view.region !== undefined && regions.has(view.region));
  }
  if (location?.city) {
    const cities = lowerSet(location.city);
    tests.push(({ view }) => view.city !== undefined && cities.has(view.city));
  }
  if (condition.device?.type) {
    const types = lowerSet(condition.device.type);
    tests.push(({ view }) => view.deviceType !== undefined && types.has(view.deviceType));
  }
  if (condition.connection?.type) {
    const types = [...lowerSet(condition.connection.type)];
    tests.push(({ view }) => oneOf(view.connectionTypes, types));
  }
  if (condition.connection?.provider) {
    const providers = [...lowerSet(condition.connection.provider)];
    tests.push(({ view }) => oneOf(view.connectionProviders, providers));
  }

  const organization = condition.organization;
  if (organization) {
    if (organization.in || organization.inList) {
      const ids = new Set([...(organization.in ?? []), ...list(organization.inList)]);
      tests.push(({ view }) => view.organizationId !== undefined && ids.has(view.organizationId));
    }
    const { known, memberCountAtLeast } = organization;
    if (known !== undefined) {
      needs.team.add("organization");
      tests.push(
        ({ view, team }) => view.organizationId !== undefined && (team.organization !== undefined) === known,
      );
    }
    if (memberCountAtLeast !== undefined) {
      needs.team.add("organization");
      tests.push(({ team }) => {
        const count = team.organization?.memberCount;
        return count !== undefined && count >= memberCountAtLeast;
      });
    }
  }

  const user = condition.user;
  if (user) {
    if (user.in) {
      const ids = new Set(user.in);
      tests.push(({ view }) => view.userId !== undefined && ids.has(view.userId));
    }
    if (user.exists !== undefined) {
      const exists = user.exists;
      tests.push(({ view }) => view.userExists === exists);
    }
    const statuses = user.membershipStatus && new Set(user.membershipStatus.map((s) => s.toUpperCase()));
    const counted = (view: RequestView) =>
      statuses
        ? view.memberships.filter((m) => m.status !== undefined && statuses.has(m.status))
        : view.memberships;
    if (user.membershipsAtLeast !== undefined) {
      const atLeast = user.membershipsAtLeast;
      tests.push(({ view }) => counted(view).length >= atLeast);
    }
    if (user.roles) {
      const roles = user.roles;
      tests.push(({ view }) => counted(view).some((m) => oneOf(m.roles, roles)));
    }
    if (statuses && user.membershipsAtLeast === undefined && !user.roles) {
      tests.push(({ view }) => counted(view).length > 0);
    }
    if (user.emailVerified !== undefined) {
      const verified = user.emailVerified;
      tests.push(({ view }) => view.emailVerified === verified);
    }
  }

  if (condition.client) {
    const ids = new Set([...(condition.client.in ?? []), ...list(condition.client.inList)]);
    tests.push(({ view }) => view.clientId !== undefined && ids.has(view.clientId));
  }

  const scopes = condition.scopes;
  if (scopes?.outside) {
    const allowed = new Set(scopes.outside);
    tests.push(({ view }) => view.scopes.some((scope) => !allowed.has(scope)));
  }
  if (scopes?.includesAny) {
    const wanted = scopes.includesAny;
    tests.push(({ view }) => oneOf(view.scopes, wanted));
  }

  const velocity = condition.velocity;
  if (velocity) {
    const id = velocityCounterId(velocity);
    needs.counters.set(id, { per: velocity.per, window: velocity.window, over: 0 });
    tests.push(({ counts }) => (counts.get(id) ?? 0) > velocity.over);
  }

  const fact = condition.fact;
  if (fact) {
    needs.facts.add(fact.enrichment);
    if (fact.known !== undefined) {
      const { enrichment, known } = fact;
      const hasSubject = context.hasSubject(enrichment);
      tests.push(
        ({ view, facts }) => hasSubject(view) && (factOf(facts, enrichment) !== undefined) === known,
      );
    }
    if (fact.field !== undefined) {
      const { path } = needs.compare(fact.enrichment, fact.field);
      tests.push(compileFactTest(fact, path));
    }
  }

  if (tests.length === 1) return tests[0] as Predicate;
  return (input) => tests.every((test) => test(input));
}

/** A `fact` condition: the field's value, read from the enrichment's fact, against each test written. */
function compileFactTest(test: FactTest, path: readonly string[]): Predicate {
  const { equals, atLeast, atMost } = test;
  const wanted = test.in && new Set<unknown>(test.in);
  return ({ facts }) => {
    const value = fieldAt(factOf(facts, test.enrichment), path);
    if (value === undefined || value === null) return false;
    const number = typeof value === "number" ? value : undefined;
    return (
      (equals === undefined || value === equals) &&
      (wanted === undefined || wanted.has(value)) &&
      (atLeast === undefined || (number !== undefined && number >= atLeast)) &&
      (atMost === undefined || (number !== undefined && number <= atMost))
    );
  };
}

function compileOutcome(outcome: Outcome, needs: NeedsBuilder): CompiledOutcome {
  if (outcome.decision === "DENY") return outcome;
  if (outcome.cachedClaims) needs.facts.add("user-claims");
  if (outcome.teamClaims) needs.team.add("user");
  return {
    ...outcome,
    ...(outcome.membershipByEmailDomain && {
      membershipByDomain: new Map(
        Object.entries(outcome.membershipByEmailDomain).map(([domain, m]) => [normalizeDomain(domain), m]),
      ),
    }),
    ...(outcome.scopes && { allowedScopes: new Set(outcome.scopes.allow) }),
  };
}

function compileTrigger(
  trigger: TriggerPoint,
  policy: TriggerPolicy,
  context: CompileContext,
): CompiledTrigger {
  const needs = new NeedsBuilder();
  const rules = policy.rules.map((rule) => {
    const own = new NeedsBuilder();
    const compiled = {
      name: rule.name,
      shadow: rule.shadow,
      outcome: compileOutcome(rule.outcome, own),
      test: compileCondition(rule.when, context, own),
      reads: own.facts,
    };
    needs.add(own);
    return compiled;
  });
  const ownDefault = new NeedsBuilder();
  const defaultOutcome = compileOutcome(policy.default, ownDefault);
  needs.add(ownDefault);
  return {
    trigger,
    policy,
    rules,
    default: defaultOutcome,
    defaultReads: ownDefault.facts,
    needs: needs.build(),
  };
}

/** What compiling needs of an enrichment package: whether a request has a subject for it. */
export interface RegisteredEnrichment {
  fromRequest(request: InterceptorRequest): unknown;
}

export interface CompileOptions {
  /**
   * The registered enrichments, by name: a `fact` condition naming another is refused (a `PolicyError`),
   * not left to match nothing. Unchecked when not given; a `known` test then takes every request to have a
   * subject for the enrichment.
   */
  readonly enrichments?: Readonly<Record<string, RegisteredEnrichment>>;
  /** The policy's file, for the error. */
  readonly file?: string;
}

/** Turns a validated policy into predicates and read needs, once per load: evaluation then allocates little. */
export function compilePolicy(policy: Policy, options: CompileOptions = {}): CompiledPolicy {
  const { enrichments } = options;
  const context: CompileContext = {
    lists: policy.lists,
    hasSubject: (name) => {
      const enrichment = enrichments && Object.hasOwn(enrichments, name) ? enrichments[name] : undefined;
      return enrichment ? (view) => enrichment.fromRequest(view.request) !== undefined : () => true;
    },
  };
  const triggers = new Map<TriggerPoint, CompiledTrigger>();
  for (const [trigger, triggerPolicy] of Object.entries(policy.triggers)) {
    if (triggerPolicy)
      triggers.set(trigger as TriggerPoint, compileTrigger(trigger as TriggerPoint, triggerPolicy, context));
  }
  if (enrichments) {
    const registered = new Set(Object.keys(enrichments));
    const problems: string[] = [];
    for (const [trigger, compiled] of triggers) {
      for (const rule of compiled.rules) {
        for (const name of rule.reads) {
          if (!registered.has(name))
            problems.push(
              `triggers.${trigger}, rule "${rule.name}": no enrichment named "${name}" is registered ` +
                `(registered: ${[...registered].join(", ")})`,
            );
        }
      }
    }
    if (problems.length > 0) throw new PolicyError(options.file ?? "policy", problems);
  }
  return { source: policy, unknownTrigger: policy.unknownTrigger, triggers };
}
