import { isIP } from "node:net";
import { type InterceptorRequest, parseInterceptorRequest } from "@gatehouse/contracts";

/** The values a subject is made of, named like `gatehouse send`'s flags, and the request field each fills. */
export const SUBJECT_COLUMNS = {
  email: "user_email",
  ip: "ip_address",
  org: "organization_id",
  user: "user_id",
  client: "client_id",
} as const;
export type SubjectValues = Partial<Record<keyof typeof SUBJECT_COLUMNS, string>>;

export type CarryingRequest =
  | { readonly ok: true; readonly request: InterceptorRequest }
  | { readonly ok: false; readonly problems: string[] };

/** A bare value, as a line of a text file or an argument gives it: an IP address, else an email address. */
export function valueOfLine(value: string): SubjectValues {
  return isIP(value) !== 0 ? { ip: value } : { email: value };
}

/**
 * The request that would carry these values — a POST_USER_AUTHENTICATION, the trigger that requires none of
 * them — checked as the ingress checks a request, so a value the ingress would refuse is a problem here too
 * (`ip: not an IPv4 or IPv6 address`, named by value). Undefined when no value is given (an empty one counts
 * as none).
 */
export function requestCarrying(values: SubjectValues): CarryingRequest | undefined {
  const context: Record<string, string> = {};
  for (const [column, field] of Object.entries(SUBJECT_COLUMNS)) {
    const value = values[column as keyof typeof SUBJECT_COLUMNS];
    if (value) context[field] = value;
  }
  if (Object.keys(context).length === 0) return undefined;
  const parsed = parseInterceptorRequest({
    trigger_point: "POST_USER_AUTHENTICATION",
    interceptor_context: context,
  });
  if (parsed.ok) return { ok: true, request: parsed.request };
  const columnOf = (field: string) =>
    Object.entries(SUBJECT_COLUMNS).find(([, name]) => field.includes(name))?.[0] ?? field;
  return {
    ok: false,
    problems: (parsed.issues ?? [parsed.reason]).map((issue) => {
      const [field = "", message = issue] = issue.split(/: (.*)/s);
      return `${columnOf(field)}: ${message}`;
    }),
  };
}
