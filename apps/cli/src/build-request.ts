import { type RequestFixtureName, requestFixture, type TriggerPoint } from "@gatehouse/contracts";

/** A JSON request body, as sent. */
export type RequestBody = Record<string, unknown>;

/**
 * Top-level field that marks a request as sent by the CLI. It is signed with the body, so only a holder
 * of the secret can set it; the ingress keeps such requests out of the production audit stream.
 */
export const TEST_MARKER = "gatehouse_test";

/** Values that replace the documented ones. Each lands in every place the body carries it. */
export interface RequestOverrides {
  /** `interceptor_context.user_email`, and `data.user.email` when the body has a user. */
  email?: string | undefined;
  /** `interceptor_context.ip_address`. */
  ip?: string | undefined;
  /** `interceptor_context.organization_id`, and `data.organization.id` when the body has an organization. */
  org?: string | undefined;
  /** `interceptor_context.user_id`, and `data.user.id` when the body has a user. */
  user?: string | undefined;
  /** `interceptor_context.client_id`, and `data.m2m_token_claims.client_id` when the body has M2M claims. */
  client?: string | undefined;
}

export interface BuildOptions {
  /** Start from this body instead of the documented fixture (`--body file.json`); it is copied, not changed. */
  base?: RequestBody | undefined;
  /** The `triggered_at` to write. Default: now. */
  now?: Date | undefined;
  /** Add `"gatehouse_test": true`. Default: true. */
  test?: boolean | undefined;
}

/** The documented body each trigger starts from; PRE_SIGNUP uses the brand-new user, the common case to screen. */
export function fixtureFor(trigger: TriggerPoint): RequestFixtureName {
  return trigger === "PRE_SIGNUP" ? "PRE_SIGNUP_NEW_USER" : trigger;
}

const isRecord = (value: unknown): value is RequestBody =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function child(parent: RequestBody, key: string): RequestBody | undefined {
  const value = parent[key];
  return isRecord(value) ? value : undefined;
}

function ensureChild(parent: RequestBody, key: string): RequestBody {
  const existing = child(parent, key);
  if (existing !== undefined) return existing;
  const created: RequestBody = {};
  parent[key] = created;
  return created;
}

/**
 * The body of a test request for `trigger`: the documented fixture (or `options.base`), the overrides
 * applied, a fresh `interceptor_context.triggered_at` and the test marker.
 */
export function buildRequestBody(
  trigger: TriggerPoint,
  overrides: RequestOverrides = {},
  options: BuildOptions = {},
): RequestBody {
  const body =
    options.base === undefined ? requestFixture(fixtureFor(trigger)) : structuredClone(options.base);
  const data = child(body, "data");
  const user = data && child(data, "user");
  const organization = data && child(data, "organization");
  const m2m = data && child(data, "m2m_token_claims");
  const context = () => ensureChild(body, "interceptor_context");

  if (overrides.email !== undefined) {
    context().user_email = overrides.email;
    if (user) user.email = overrides.email;
  }
  if (overrides.ip !== undefined) context().ip_address = overrides.ip;
  if (overrides.org !== undefined) {
    context().organization_id = overrides.org;
    if (organization) organization.id = overrides.org;
  }
  if (overrides.user !== undefined) {
    context().user_id = overrides.user;
    if (user) user.id = overrides.user;
  }
  if (overrides.client !== undefined) {
    context().client_id = overrides.client;
    if (m2m) m2m.client_id = overrides.client;
  }

  const existingContext = child(body, "interceptor_context");
  if (existingContext) existingContext.triggered_at = (options.now ?? new Date()).toISOString();
  if (options.test ?? true) body[TEST_MARKER] = true;
  return body;
}
