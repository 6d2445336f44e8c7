import type { InterceptorRequest } from "@gatehouse/contracts";
import { z } from "zod";
import { domainOfEmail, normalizeDomain } from "./normalize-domain.js";

/** The job payload: one normalized domain, so equal domains share one job and one fact. */
export const emailDomainInputSchema = z.object({
  domain: z.string().refine((domain) => normalizeDomain(domain) === domain, "not a normalized domain"),
});

export type EmailDomainInput = z.infer<typeof emailDomainInputSchema>;

/** The domain of the request's user email, on any trigger that carries one; undefined otherwise. */
export function emailDomainInputFromRequest(request: InterceptorRequest): EmailDomainInput | undefined {
  const email = request.interceptor_context.user_email;
  const domain = email == null ? undefined : domainOfEmail(email);
  return domain === undefined ? undefined : { domain };
}
