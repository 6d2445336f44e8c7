import { z } from "zod";

/** What the MX lookup said: a failure to ask (timeout, SERVFAIL, refused) is "unknown", never "absent". */
export const MX_STATUSES = ["present", "absent", "unknown"] as const;
export type MxStatus = (typeof MX_STATUSES)[number];

/** The cached fact about one mail domain. */
export const emailDomainFactSchema = z.object({
  /** The normalized domain, as in the input. */
  domain: z.string(),
  /** The registrable domain under the ICANN public suffixes (`x.mailinator.com` → `mailinator.com`), or null. */
  registrable: z.string().nullable(),
  /** The domain or its registrable domain is on the disposable list and on no allowlist. */
  disposable: z.boolean(),
  /** The domain or its registrable domain is a known free-mail provider, and is not disposable. */
  freeMail: z.boolean(),
  mx: z.enum(MX_STATUSES),
});

export type EmailDomainFact = z.infer<typeof emailDomainFactSchema>;
