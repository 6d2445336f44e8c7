import { type Policy, policySchema } from "./policy-schema.js";

/**
 * What `npm start` protects a real app with when no policy file is given (PRODUCT.md): signups and
 * invitations from disposable email domains or from addresses on the configured IP blocklists are denied;
 * everything else is allowed; session tokens get the claims the workers cached for the user.
 */
export const DEFAULT_POLICY: Policy = policySchema.parse({
  version: 1,
  unknownTrigger: "ALLOW",
  triggers: {
    PRE_SIGNUP: {
      rules: [
        {
          name: "disposable-email",
          when: { emailDomain: { disposable: true } },
          outcome: {
            decision: "DENY",
            reason: "email.disposable",
            message: "Please sign up with a permanent email address; disposable addresses are not accepted.",
          },
        },
        {
          name: "blocklisted-ip",
          when: { ip: { listed: true } },
          outcome: {
            decision: "DENY",
            reason: "ip.blocklisted",
            message: "Sign-up is not available from your network. Please try another connection.",
          },
        },
      ],
      onMiss: { waitMs: 1000, afterWait: "evaluate" },
      fallback: "ALLOW",
    },
    PRE_USER_INVITATION: {
      rules: [
        {
          name: "disposable-email",
          when: { emailDomain: { disposable: true } },
          outcome: {
            decision: "DENY",
            reason: "email.disposable",
            message: "Invitations cannot be sent to disposable email addresses.",
          },
        },
        {
          name: "blocklisted-ip",
          when: { ip: { listed: true } },
          outcome: {
            decision: "DENY",
            reason: "ip.blocklisted",
            message: "Invitations cannot be sent from your network.",
          },
        },
      ],
      onMiss: { waitMs: 1000, afterWait: "evaluate" },
      fallback: "ALLOW",
    },
    PRE_SESSION_CREATION: {
      default: { decision: "ALLOW", cachedClaims: true },
      onMiss: { waitMs: 500, afterWait: "evaluate" },
      fallback: "ALLOW",
    },
    PRE_M2M_TOKEN_CREATION: { fallback: "ALLOW" },
    POST_USER_AUTHENTICATION: { fallback: "ALLOW" },
  },
});
