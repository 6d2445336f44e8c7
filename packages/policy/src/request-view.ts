import type { InterceptorRequest } from "@gatehouse/contracts";
import { parseAddress } from "./address-matcher.js";
import { normalizeEmail } from "./normalize.js";

type Address = ReturnType<typeof parseAddress>;
type Membership = {
  readonly organizationId?: string;
  /** Upper case (ACTIVE, …). */
  readonly status?: string;
  readonly roles: readonly string[];
};

const lower = (value: string | null | undefined) => value?.toLowerCase();

/**
 * What conditions read from the request, normalized: each value is computed the first time a condition
 * asks for it, so a policy pays only for what it reads (the default policy reads none of it). Absent
 * (undefined) when the request does not carry it.
 */
export class RequestView {
  #email?: string | null;
  #address?: Address | null;
  #scopes?: readonly string[];
  #memberships?: readonly Membership[];

  constructor(readonly request: InterceptorRequest) {}

  get #context() {
    return this.request.interceptor_context;
  }

  /** Lower case, domain in ASCII. */
  get email(): string | undefined {
    if (this.#email === undefined) {
      const raw = this.#context.user_email;
      this.#email = (raw && normalizeEmail(raw)) || null;
    }
    return this.#email ?? undefined;
  }

  get emailDomain(): string | undefined {
    const email = this.email;
    return email?.slice(email.lastIndexOf("@") + 1);
  }

  get ip(): string | undefined {
    return this.#context.ip_address ?? undefined;
  }

  get address(): Address {
    if (this.#address === undefined) this.#address = (this.ip && parseAddress(this.ip)) || null;
    return this.#address ?? undefined;
  }

  /** Upper case. */
  get region(): string | undefined {
    return this.#context.region?.toUpperCase();
  }

  /** Lower case, like every text compared case-insensitively. */
  get city(): string | undefined {
    return lower(this.#context.city);
  }

  get deviceType(): string | undefined {
    return lower(this.#context.device_type);
  }

  get connectionTypes(): readonly string[] {
    return (this.#context.connection_details ?? []).flatMap((c) => (c.type ? [c.type.toLowerCase()] : []));
  }

  get connectionProviders(): readonly string[] {
    return (this.#context.connection_details ?? []).flatMap((c) =>
      c.provider ? [c.provider.toLowerCase()] : [],
    );
  }

  /** The context's organization, else the body's, else the M2M token's `oid`. */
  get organizationId(): string | undefined {
    const data = this.request.data;
    return (
      this.#context.organization_id ??
      data?.organization?.id ??
      data?.m2m_token_claims?.claims?.oid ??
      undefined
    );
  }

  get userId(): string | undefined {
    return this.#context.user_id ?? this.request.data?.user?.id ?? undefined;
  }

  /** Whether Scalekit says the user's email address is verified; undefined when it does not say. */
  get emailVerified(): boolean | undefined {
    // Not part of the validated contract (a body is never refused over it): read as sent, booleans only.
    const verified = (this.request.data?.user as { email_verified?: unknown } | undefined)?.email_verified;
    return typeof verified === "boolean" ? verified : undefined;
  }

  /** Whether Scalekit sent a user it already knows. */
  get userExists(): boolean {
    return Boolean(this.request.data?.user?.id);
  }

  get memberships(): readonly Membership[] {
    this.#memberships ??= (this.request.data?.user?.memberships ?? []).map((m) => ({
      organizationId: m.organization_id ?? undefined,
      status: m.status?.toUpperCase(),
      roles: m.roles ?? [],
    }));
    return this.#memberships;
  }

  get clientId(): string | undefined {
    return this.#context.client_id ?? this.request.data?.m2m_token_claims?.client_id ?? undefined;
  }

  /** The scopes an M2M client asked for (`scope` and `scopes`), in the order asked, without repeats. */
  get scopes(): readonly string[] {
    if (this.#scopes === undefined) {
      const claims = this.request.data?.m2m_token_claims?.claims;
      const scopes = new Set<string>();
      for (const scope of claims?.scope?.split(" ") ?? []) if (scope !== "") scopes.add(scope);
      for (const scope of claims?.scopes ?? []) scopes.add(scope);
      this.#scopes = [...scopes];
    }
    return this.#scopes;
  }
}

export function requestView(request: InterceptorRequest): RequestView {
  return new RequestView(request);
}
