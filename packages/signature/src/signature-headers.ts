/** The headers Scalekit sends with every interceptor call (Standard Webhooks names them `webhook-*`). */
export const SIGNATURE_HEADERS = {
  id: "interceptor-id",
  timestamp: "interceptor-timestamp",
  signature: "interceptor-signature",
} as const;

export type SignatureHeaderName = (typeof SIGNATURE_HEADERS)[keyof typeof SIGNATURE_HEADERS];
