import { readFileSync } from "node:fs";

// The documented request and response bodies, copied from Scalekit's documents into fixtures/.
const REQUESTS = {
  PRE_SIGNUP: "pre-signup",
  PRE_SIGNUP_NEW_USER: "pre-signup-new-user",
  PRE_SESSION_CREATION: "pre-session-creation",
  PRE_USER_INVITATION: "pre-user-invitation",
  PRE_M2M_TOKEN_CREATION: "pre-m2m-token-creation",
  POST_USER_AUTHENTICATION: "post-user-authentication",
} as const;

const RESPONSES = [
  "allow",
  "allow-m2m-claims",
  "allow-provision-membership",
  "allow-session-claims",
  "deny-with-message",
] as const;

export type RequestFixtureName = keyof typeof REQUESTS;
export type ResponseFixtureName = (typeof RESPONSES)[number];
export const REQUEST_FIXTURES = Object.keys(REQUESTS) as RequestFixtureName[];
export const RESPONSE_FIXTURES: readonly ResponseFixtureName[] = RESPONSES;

const read = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${path}.json`, import.meta.url), "utf8"));

/** A fresh copy of a documented request body, safe to modify. */
export function requestFixture(name: RequestFixtureName): Record<string, unknown> {
  return read(`requests/${REQUESTS[name]}`);
}

export function responseFixture(name: ResponseFixtureName): Record<string, unknown> {
  return read(`responses/${name}`);
}
