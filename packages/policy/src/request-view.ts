import type { InterceptorRequest } from "@gatehouse/contracts";
import { parseAddress } from "./address-matcher.js";
import { normalizeEmail } from "./normalize.js";

/** What conditions read from the request, normalized once per request. Absent when the request has none. */
export interface RequestView {
  /** Lower case, domain in ASCII. */
  readonly email?: string;
  readonly emailDomain?: string;
  readonly ip?: string;
  readonly address?: ReturnType<typeof parseAddress>;
  /** Upper case. */
  readonly region?: string;
  /** Lower case, like every text compared case-insensitively below. */
  readonly city?: string;
  readonly deviceType?: string;
  readonly connectionTypes: readonly string[];
  readonly connectionProviders: readonly string[];
  readonly organizationId?: string;
  readonly userId?: string;
  /** Whether Scalekit sent a user it already knows. */
  readonly userExists: boolean;
  readonly memberships: readonly { organizationId?: string; roles: readonly string[] }[];
  readonly clientId?: string;
  /** The scopes an M2M client asked for, in the order asked, without repeats. */
  readonly scopes: readonly string[];
}

const lower = (value: string | undefined) => value?.toLowerCase();

export function requestView(request: InterceptorRequest): RequestView {
  const context = request.interceptor_context;
  const data = request.data;
  const email = context.user_email ? normalizeEmail(context.user_email) || undefined : undefined;
  const m2m = data?.m2m_token_claims;
  const user = data?.user;
  const scopes = new Set<string>();
  for (const scope of m2m?.claims?.scope?.split(" ") ?? []) if (scope !== "") scopes.add(scope);
  for (const scope of m2m?.claims?.scopes ?? []) scopes.add(scope);
  const connections = context.connection_details ?? [];
  return {
    email,
    emailDomain: email?.slice(email.lastIndexOf("@") + 1),
    ip: context.ip_address,
    address: context.ip_address ? parseAddress(context.ip_address) : undefined,
    region: context.region?.toUpperCase(),
    city: lower(context.city),
    deviceType: lower(context.device_type),
    connectionTypes: connections.flatMap((c) => (c.type ? [c.type.toLowerCase()] : [])),
    connectionProviders: connections.flatMap((c) => (c.provider ? [c.provider.toLowerCase()] : [])),
    organizationId: context.organization_id ?? data?.organization?.id ?? m2m?.claims?.oid,
    userId: context.user_id ?? user?.id,
    userExists: Boolean(user?.id),
    memberships: (user?.memberships ?? []).map((m) => ({
      organizationId: m.organization_id,
      roles: m.roles ?? [],
    })),
    clientId: context.client_id ?? m2m?.client_id,
    scopes: [...scopes],
  };
}
