/** Every trigger point Gatehouse understands; POST_USER_AUTHENTICATION is documented but not yet released. */
export const TRIGGER_POINTS = [
  "PRE_SIGNUP",
  "PRE_SESSION_CREATION",
  "PRE_USER_INVITATION",
  "PRE_M2M_TOKEN_CREATION",
  "POST_USER_AUTHENTICATION",
] as const;

export type TriggerPoint = (typeof TRIGGER_POINTS)[number];

/** The trigger each dedicated route serves: `POST /auth/interceptors/<slug>`. */
export const ROUTE_TRIGGERS = {
  "pre-signup": "PRE_SIGNUP",
  "pre-session-creation": "PRE_SESSION_CREATION",
  "pre-user-invitation": "PRE_USER_INVITATION",
  "pre-m2m-token-creation": "PRE_M2M_TOKEN_CREATION",
} as const satisfies Record<string, TriggerPoint>;

export type RouteSlug = keyof typeof ROUTE_TRIGGERS;

const known: ReadonlySet<string> = new Set(TRIGGER_POINTS);

export function isTriggerPoint(value: unknown): value is TriggerPoint {
  return typeof value === "string" && known.has(value);
}

/** `pre-signup` → `PRE_SIGNUP`, for the CLI and the routes. */
export function triggerFromSlug(slug: string): TriggerPoint | undefined {
  const upper = slug.trim().toUpperCase().replaceAll("-", "_");
  return isTriggerPoint(upper) ? upper : undefined;
}
