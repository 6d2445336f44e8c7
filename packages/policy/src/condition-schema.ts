import { z } from "zod";
import { durationSeconds } from "./duration.js";

/** A name of one of the policy's `lists`. */
export const listName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '.', '_' or '-', at most 64");

const strings = z.array(z.string().min(1)).min(1);
// Each field of a condition narrows it: a condition with no field would match everything by accident.
const narrowing = <T extends z.ZodRawShape>(shape: T) =>
  z
    .strictObject(shape)
    .refine((value) => Object.values(value).some((field) => field !== undefined), "names no field to test");

/** What a velocity limit counts by; each is taken from the request. */
export const VELOCITY_SUBJECTS = ["ip", "emailDomain", "organization", "client"] as const;
export type VelocitySubject = (typeof VELOCITY_SUBJECTS)[number];

export interface Velocity {
  per: VelocitySubject;
  /** Window length in seconds (`30s`, `10m`, `1h`, `1d` in the file). */
  window: number;
  /** Matches when more than this many requests were seen in the window, this one included. */
  over: number;
}

/**
 * One condition: every field written must hold (AND). `all`, `any` and `not` combine conditions. A fact
 * that is not known (not cached yet, or not in the request) matches nothing, except where `known: false`
 * asks for exactly that.
 */
export interface Condition {
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
  /** The exact address (case-insensitive). */
  email?: { in?: string[]; inList?: string };
  emailDomain?: {
    /** The domain or a parent of it: `acme.com` also covers `eu.acme.com`. */
    in?: string[];
    inList?: string;
    disposable?: boolean;
    freeMail?: boolean;
    mx?: "present" | "absent" | "unknown";
    /** false: the email-domain fact is not cached (yet). */
    known?: boolean;
    /** Whether the domain is among the organization's allowed domains (facts the team wrote). */
    allowedByOrganization?: boolean;
  };
  ip?: {
    /** Addresses and CIDR blocks, IPv4 and IPv6. */
    in?: string[];
    inList?: string;
    /** On any configured blocklist / on one of these. */
    listed?: boolean;
    lists?: string[];
    /** Special-purpose ranges as ipaddr.js names them: private, loopback, reserved, … */
    range?: string[];
    asn?: number[];
    /** ISO country codes from the IP database (not Scalekit's `region`). */
    country?: string[];
    anonymous?: boolean;
    hosting?: boolean;
    known?: boolean;
  };
  /** Where Scalekit located the request: `region` (two-letter country) and `city`. */
  location?: { region?: string[]; city?: string[] };
  device?: { type?: string[] };
  /** Any of the request's connections (type: OAUTH, PASSWORDLESS, …; provider: GOOGLE, SCALEKIT, …). */
  connection?: { type?: string[]; provider?: string[] };
  organization?: {
    in?: string[];
    inList?: string;
    /** false: the team has written no facts about this organization. */
    known?: boolean;
    /** The member count the team wrote for the organization. */
    memberCountAtLeast?: number;
  };
  user?: {
    in?: string[];
    /** The request names an existing user (Scalekit sends one for users it already knows). */
    exists?: boolean;
    /** Memberships counted: all of them, or only those with `membershipStatus` when it is given. */
    membershipsAtLeast?: number;
    /** Any of the user's memberships (with `membershipStatus`, when given) has any of these roles. */
    roles?: string[];
    /** Limits `membershipsAtLeast` and `roles` to memberships in these statuses (ACTIVE, …); alone: any membership has one. */
    membershipStatus?: string[];
    /** Scalekit says the user's email address is verified. */
    emailVerified?: boolean;
  };
  /** The M2M client. */
  client?: { in?: string[]; inList?: string };
  /** The scopes an M2M client requested. */
  scopes?: { outside?: string[]; includesAny?: string[] };
  velocity?: Velocity;
  /**
   * A field of any registered enrichment's fact — one added by a package of the team's own included — for
   * what the conditions above do not name. Every test written must hold; a fact not cached, or without the
   * field, matches nothing (`onMiss` decides meanwhile), except where `known: false` asks for exactly that.
   */
  fact?: FactTest;
}

export interface FactTest {
  /** The enrichment's name, as registered (`domain-age`). */
  enrichment: string;
  /** The field of its fact; dots reach into objects (`claims.plan`). Needed by every test but `known`. */
  field?: string;
  equals?: string | number | boolean;
  in?: (string | number)[];
  atLeast?: number;
  atMost?: number;
  /**
   * true: the enrichment's fact about the request's subject is cached; false: the request has a subject for
   * it (its package's `fromRequest` finds one) and no fact about it is cached (yet). A request without such a
   * subject matches neither.
   */
  known?: boolean;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const factTestSchema = z
  .strictObject({
    enrichment: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "an enrichment's name: kebab-case"),
    field: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "a field name, or names joined by dots")
      .optional(),
    equals: scalar.optional(),
    in: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional(),
    atLeast: z.number().optional(),
    atMost: z.number().optional(),
    known: z.boolean().optional(),
  })
  .superRefine((test, context) => {
    const valueTests = [test.equals, test.in, test.atLeast, test.atMost].some((value) => value !== undefined);
    if (!valueTests && test.known === undefined)
      context.addIssue({ code: "custom", message: "names no test: equals, in, atLeast, atMost or known" });
    else if (valueTests && test.field === undefined)
      context.addIssue({
        code: "custom",
        path: ["field"],
        message: "equals, in, atLeast and atMost need a field",
      });
    else if (!valueTests && test.field !== undefined)
      context.addIssue({
        code: "custom",
        path: ["field"],
        message: "a field needs a test: equals, in, atLeast or atMost",
      });
  });

const velocitySchema = z.strictObject({
  per: z.enum(VELOCITY_SUBJECTS),
  window: durationSeconds,
  over: z.number().int().min(0),
});

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  narrowing({
    all: z.array(conditionSchema).min(1).optional(),
    any: z.array(conditionSchema).min(1).optional(),
    not: conditionSchema.optional(),
    email: narrowing({ in: strings.optional(), inList: listName.optional() }).optional(),
    emailDomain: narrowing({
      in: strings.optional(),
      inList: listName.optional(),
      disposable: z.boolean().optional(),
      freeMail: z.boolean().optional(),
      mx: z.enum(["present", "absent", "unknown"]).optional(),
      known: z.boolean().optional(),
      allowedByOrganization: z.boolean().optional(),
    }).optional(),
    ip: narrowing({
      in: strings.optional(),
      inList: listName.optional(),
      listed: z.boolean().optional(),
      lists: strings.optional(),
      range: strings.optional(),
      asn: z.array(z.number().int().min(0)).min(1).optional(),
      country: z
        .array(z.string().regex(/^[A-Za-z]{2}$/, "a two-letter country code"))
        .min(1)
        .optional(),
      anonymous: z.boolean().optional(),
      hosting: z.boolean().optional(),
      known: z.boolean().optional(),
    }).optional(),
    location: narrowing({ region: strings.optional(), city: strings.optional() }).optional(),
    device: narrowing({ type: strings.optional() }).optional(),
    connection: narrowing({ type: strings.optional(), provider: strings.optional() }).optional(),
    organization: narrowing({
      in: strings.optional(),
      inList: listName.optional(),
      known: z.boolean().optional(),
      memberCountAtLeast: z.number().int().min(0).optional(),
    }).optional(),
    user: narrowing({
      in: strings.optional(),
      exists: z.boolean().optional(),
      membershipsAtLeast: z.number().int().min(0).optional(),
      roles: strings.optional(),
      membershipStatus: strings.optional(),
      emailVerified: z.boolean().optional(),
    }).optional(),
    client: narrowing({ in: strings.optional(), inList: listName.optional() }).optional(),
    scopes: narrowing({
      outside: z.array(z.string().min(1)).optional(),
      includesAny: strings.optional(),
    }).optional(),
    velocity: velocitySchema.optional(),
    fact: factTestSchema.optional(),
  }),
);
