import { ROUTE_TRIGGERS, type TriggerPoint, triggerFromSlug } from "@gatehouse/contracts";
import { UsageError } from "./errors/usage-error.js";

const slugs = new Map<TriggerPoint, string>(
  Object.entries(ROUTE_TRIGGERS).map(([slug, trigger]) => [trigger as TriggerPoint, slug]),
);

/** Every trigger the CLI can send, as slugs. */
export const TRIGGER_SLUGS = [
  "pre-signup",
  "pre-session-creation",
  "pre-user-invitation",
  "pre-m2m-token-creation",
  "post-user-authentication",
] as const;

/** A slug (`pre-signup`) or SCREAMING_CASE name (`PRE_SIGNUP`) → the trigger; a usage error otherwise. */
export function parseTrigger(value: string): TriggerPoint {
  const trigger = triggerFromSlug(value);
  if (trigger === undefined) {
    throw new UsageError(
      `unknown trigger "${value}": expected one of ${TRIGGER_SLUGS.join(", ")}`,
      "<trigger>",
    );
  }
  return trigger;
}

/**
 * The URL Scalekit would call for this trigger: the dedicated route `/auth/interceptors/<slug>`, or the
 * generic `/auth/interceptors` for triggers without one (POST_USER_AUTHENTICATION).
 */
export function interceptorUrl(baseUrl: string, trigger: TriggerPoint): string {
  const base = baseUrl.replace(/\/+$/, "");
  const slug = slugs.get(trigger);
  return slug === undefined ? `${base}/auth/interceptors` : `${base}/auth/interceptors/${slug}`;
}
