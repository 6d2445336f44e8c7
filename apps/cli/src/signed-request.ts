import type { TriggerPoint } from "@gatehouse/contracts";
import { SIGNATURE_HEADERS, signedHeaders } from "@gatehouse/signature";
import type { RequestBody } from "./build-request.js";
import { interceptorUrl } from "./interceptor-route.js";

/** How old `--stale` makes the timestamp: twice the 5-minute replay window. */
export const STALE_SECONDS = 600;

export interface SignInput {
  /** Base URL of the ingress, e.g. `http://127.0.0.1:8080`; the trigger's route is appended. */
  url: string;
  /** A `whsec_…` secret. */
  secret: string;
  trigger: TriggerPoint;
  /** The body; an object is serialized once with `JSON.stringify`, a string is sent byte for byte. */
  body: RequestBody | string;
  /** Change one byte of the body after signing, keeping it valid JSON. Default: false. */
  tamper?: boolean | undefined;
  /** Sign with a timestamp {@link STALE_SECONDS} in the past. Default: false. */
  stale?: boolean | undefined;
  /** The clock. Default: now. */
  now?: Date | undefined;
  /** The `interceptor-id`. Default: a fresh one from the signature package. */
  id?: string | undefined;
}

export interface TamperedByte {
  offset: number;
  from: string;
  to: string;
}

export interface PreparedRequest {
  method: "POST";
  url: string;
  headers: Record<string, string>;
  /** Exactly the bytes that are sent (after `--tamper`, if any). */
  body: string;
  /** The signed Unix timestamp, as in the `interceptor-timestamp` header. */
  timestamp: number;
  /** Signed {@link STALE_SECONDS} in the past (`--stale`). */
  stale: boolean;
  tampered?: TamperedByte;
}

// Prefer the first character of a string value (`":"x` in compact JSON), so the body stays valid JSON
// with the same keys and only the signature check can notice; fall back to any letter or digit.
const VALUE_START = /":"[A-Za-z0-9]/;
const ANY_ALNUM = /[A-Za-z0-9]/;

function nextChar(char: string): string {
  if (char === "z") return "a";
  if (char === "Z") return "A";
  if (char === "9") return "0";
  return String.fromCharCode(char.charCodeAt(0) + 1);
}

/** Changes one ASCII letter or digit of a JSON text; `undefined` when it has none. */
export function tamperBody(body: string): { body: string; tampered: TamperedByte } | undefined {
  const value = VALUE_START.exec(body);
  const offset = value ? value.index + 3 : ANY_ALNUM.exec(body)?.index;
  if (offset === undefined) return undefined;
  const from = body.charAt(offset);
  const to = nextChar(from);
  return { body: body.slice(0, offset) + to + body.slice(offset + 1), tampered: { offset, from, to } };
}

/** The request Scalekit would send for this body: URL, signed headers and the exact bytes. */
export function prepareSignedRequest(input: SignInput): PreparedRequest {
  const signedBody = typeof input.body === "string" ? input.body : JSON.stringify(input.body);
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const timestamp = input.stale ? nowSeconds - STALE_SECONDS : nowSeconds;
  const signature = signedHeaders({
    secret: input.secret,
    body: signedBody,
    timestamp,
    ...(input.id === undefined ? {} : { id: input.id }),
  });
  const request: PreparedRequest = {
    method: "POST",
    url: interceptorUrl(input.url, input.trigger),
    headers: {
      "content-type": "application/json",
      [SIGNATURE_HEADERS.id]: signature[SIGNATURE_HEADERS.id],
      [SIGNATURE_HEADERS.timestamp]: signature[SIGNATURE_HEADERS.timestamp],
      [SIGNATURE_HEADERS.signature]: signature[SIGNATURE_HEADERS.signature],
    },
    body: signedBody,
    timestamp,
    stale: input.stale ?? false,
  };
  if (input.tamper) {
    const changed = tamperBody(signedBody);
    if (changed) {
      request.body = changed.body;
      request.tampered = changed.tampered;
    }
  }
  return request;
}
