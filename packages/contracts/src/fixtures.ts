// The documented request and response bodies, copied from Scalekit's documents into fixtures/.
// Imported as JSON (not read from disk) so they travel inside a bundled CLI or benchmark.
import postUserAuthentication from "../fixtures/requests/post-user-authentication.json" with { type: "json" };
import preM2mTokenCreation from "../fixtures/requests/pre-m2m-token-creation.json" with { type: "json" };
import preSessionCreation from "../fixtures/requests/pre-session-creation.json" with { type: "json" };
import preSignup from "../fixtures/requests/pre-signup.json" with { type: "json" };
import preSignupNewUser from "../fixtures/requests/pre-signup-new-user.json" with { type: "json" };
import preUserInvitation from "../fixtures/requests/pre-user-invitation.json" with { type: "json" };
import allow from "../fixtures/responses/allow.json" with { type: "json" };
import allowM2mClaims from "../fixtures/responses/allow-m2m-claims.json" with { type: "json" };
import allowProvisionMembership from "../fixtures/responses/allow-provision-membership.json" with {
  type: "json",
};
import allowSessionClaims from "../fixtures/responses/allow-session-claims.json" with { type: "json" };
import denyWithMessage from "../fixtures/responses/deny-with-message.json" with { type: "json" };

const REQUESTS = {
  PRE_SIGNUP: preSignup,
  PRE_SIGNUP_NEW_USER: preSignupNewUser,
  PRE_SESSION_CREATION: preSessionCreation,
  PRE_USER_INVITATION: preUserInvitation,
  PRE_M2M_TOKEN_CREATION: preM2mTokenCreation,
  POST_USER_AUTHENTICATION: postUserAuthentication,
} as const;

const RESPONSES = {
  allow,
  "allow-m2m-claims": allowM2mClaims,
  "allow-provision-membership": allowProvisionMembership,
  "allow-session-claims": allowSessionClaims,
  "deny-with-message": denyWithMessage,
} as const;

export type RequestFixtureName = keyof typeof REQUESTS;
export type ResponseFixtureName = keyof typeof RESPONSES;
export const REQUEST_FIXTURES = Object.keys(REQUESTS) as RequestFixtureName[];
export const RESPONSE_FIXTURES = Object.keys(RESPONSES) as ResponseFixtureName[];

/** A fresh copy of a documented request body, safe to modify. */
export function requestFixture(name: RequestFixtureName): Record<string, unknown> {
  return structuredClone(REQUESTS[name]) as Record<string, unknown>;
}

export function responseFixture(name: ResponseFixtureName): Record<string, unknown> {
  return structuredClone(RESPONSES[name]) as Record<string, unknown>;
}
