import type { InterceptorRequest } from "@gatehouse/contracts";
import { z } from "zod";
import { normalizeIp } from "./normalize-ip.js";

/** The job payload: one canonical IP address, so equal addresses share one job and one fact. */
export const ipReputationInputSchema = z.object({
  ip: z.string().refine((ip) => normalizeIp(ip) === ip, "not a canonical IP address"),
});

export type IpReputationInput = z.infer<typeof ipReputationInputSchema>;

/** The request's client IP address, canonical; undefined when it has none or it is not an address. */
export function ipReputationInputFromRequest(request: InterceptorRequest): IpReputationInput | undefined {
  const raw = request.interceptor_context.ip_address;
  const ip = raw == null ? undefined : normalizeIp(raw);
  return ip === undefined ? undefined : { ip };
}
