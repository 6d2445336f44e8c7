import { TRIGGER_SLUGS } from "./interceptor-route.js";
import { STALE_SECONDS } from "./signed-request.js";

export const USAGE = `gatehouse — sign and send test interceptor requests, the way Scalekit does

Usage:
  gatehouse send <trigger> [flags]   sign a test request, POST it, print request, answer and latency
  gatehouse sign <trigger> [flags]   print the signed request as a ready-to-paste curl command
  gatehouse help                     this text

Triggers: ${TRIGGER_SLUGS.join(", ")}
  (or the SCREAMING_CASE name, e.g. PRE_SIGNUP; optional when --body has a trigger_point)

Flags:
  --url <url>        ingress base URL (default: $GATEHOUSE_URL, else http://127.0.0.1:$PORT, PORT=8080)
  --secret <whsec_>  signing secret (default: first of $SCALEKIT_INTERCEPTOR_SECRET)
  --email <address>  interceptor_context.user_email (and data.user.email)
  --ip <address>     interceptor_context.ip_address
  --org <id>         interceptor_context.organization_id (and data.organization.id)
  --user <id>        interceptor_context.user_id (and data.user.id)
  --client <id>      interceptor_context.client_id (and data.m2m_token_claims.client_id)
  --body <file>      start from this JSON body instead of the documented one
  --tamper           change one byte of the body after signing (expect DENY)
  --stale            sign with a timestamp ${STALE_SECONDS / 60} minutes old (expect DENY)
  --json             print one JSON object instead of text
  --timeout <ms>     send only: give up waiting after this long (default 10000)
  -h, --help         this text

Every request carries "gatehouse_test": true (signed with the body), which keeps it out of the
production audit stream.

Exit codes: 0 an answer was received (whatever the decision), 1 no answer (network), 2 usage error.

Examples:
  gatehouse send pre-signup --email jane@mailinator.com
  gatehouse send pre-session-creation --user usr_123 --org org_456 --json
  gatehouse send pre-m2m-token-creation --client m2m_789 --tamper
  gatehouse sign pre-user-invitation --email bob@example.com --url https://gatehouse.example.com
`;
