import { TRIGGER_SLUGS } from "./interceptor-route.js";
import { STALE_SECONDS } from "./signed-request.js";

export const USAGE = `gatehouse — sign and send test interceptor requests, the way Scalekit does

Usage:
  gatehouse send <trigger> [flags]   sign a test request, POST it, print request, answer and latency
  gatehouse sign <trigger> [flags]   print the signed request as a ready-to-paste curl command
  gatehouse policy test <policy-file> <case…> [--json]
                                     evaluate a policy offline against request or case files (or
                                     directories of *.json) and print each decision; checks "expect"
  gatehouse decisions [--decision ALLOW|DENY] [--trigger <t>] [--reason <r>] [--rule <name>]
            [--env <id>] [--since <duration>] [--limit <n> | --count | --follow] [--test] [--json]
                                     list the newest decisions that match, newest first: when,
                                     trigger, decision, reason, rule, latency, id; count them by
                                     trigger, decision, reason and rule; or print them as they are
                                     made, until Ctrl-C (reads $REDIS_URL)
  gatehouse explain <interceptor-id> [--test] [--json]
                                     print the audit record of one decision: rule, reason, facts used,
                                     team facts, velocity counts, shadow hits (reads $REDIS_URL)
  gatehouse facts load <file>        write facts about organizations and users from a .json or .csv
                                     file through the ingress's admin API ($GATEHOUSE_ADMIN_TOKEN)
  gatehouse facts get|delete organization|user <id>
                                     print (as JSON) or delete the facts about one of them
  gatehouse lookup [<email|ip>…] [--email e] [--ip i] [--org o] [--user u] [--client c] [--json]
                                     print what the cache holds for those subjects: each enrichment's
                                     fact, when it is refreshed and expires, its job and last error
  gatehouse warm <file…> [--enrichment <name>] [--refresh] [--wait <s>] [--dry-run] [--json]
                                     ask the workers for the facts of the emails and IPs in .txt or
                                     .csv files before traffic comes (reads $REDIS_URL)
  gatehouse status [--json]          what Redis says of the deployment: each Redis' memory and eviction
                                     policy, each enrichment's workers and queue, the newest decision;
                                     lists what needs attention (reads $REDIS_URL)
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
  --test             decisions, explain: read the audit of test requests (gatehouse send)
  -h, --help         this text

Every request carries "gatehouse_test": true (signed with the body), which keeps it out of the
production audit stream.

Exit codes: 0 an answer was received (whatever the decision), 1 no answer (network; decisions, explain,
lookup, warm, status: Redis unreachable), 2 usage error or invalid policy file, 3 policy test: an expectation
failed or a case is invalid, 4 explain: no audit record with that id; lookup: a fact is not cached,
5 status: something needs attention.

decisions, explain, lookup, warm and status read $REDIS_URL (default redis://127.0.0.1:6379) under
$GATEHOUSE_KEY_PREFIX (default gh); with $REDIS_CLUSTER_NODES a Redis Cluster, with $REDIS_SENTINELS the
master they name ($REDIS_URL's host), as the ingress does.
decisions: --reason signature matches every signature.* reason; --since 15m, 2h or 1d (at most 7d);
  --limit (default 20, at most 10000) stops the scan at that many matches; --count reads every decision
  since --since (or the whole stream) and counts them; --follow (-f) prints each new one (--json: a JSON
  line each). Exit 0 also when none match.

facts: --url as above; --ttl <s> expire the records (default: never); --batch <n> records per
request (default 1000); --dry-run check only; --json. Every record is checked before any is written.
  .json  {"organizations": [{"id": "org_1", "memberCount": 12, "allowedDomains": ["acme.com"]}],
          "users": [{"id": "usr_1", "claims": {"plan": "pro"}}]}
  .csv   header kind,id and any of memberCount,allowedDomains,externalId,claims; kind is organization
         or user; allowedDomains separated by ";" or spaces; claims a JSON object. Errors name the line.
  Exit codes: 2 a problem in the file or a refused token, 4 no such organization or user.

warm: what requests carrying these values would need, asked of the workers through the ingress's
queues, each subject once (reads $REDIS_URL under $GATEHOUSE_KEY_PREFIX, like explain). Every line is
checked before anything is enqueued; a fact cached and not yet due for refresh is skipped.
  .txt   an email address or an IP address per line; blank lines and # comments skipped (- reads
         the same from standard input)
  .csv   header naming any of email,ip,org,user,client (as send's flags); an empty cell is left out
  --enrichment <name>  only this enrichment (repeatable; default: every registered one)
  --refresh            ask for cached facts too
  --wait <s>           then wait up to s seconds for the facts to be written
  --dry-run            count what would be asked for; enqueue nothing
  Exit codes: 1 Redis unreachable, or facts still not written after --wait; 2 a problem in a file.

Examples:
  gatehouse send pre-signup --email jane@mailinator.com
  gatehouse send pre-session-creation --user usr_123 --org org_456 --json
  gatehouse send pre-m2m-token-creation --client m2m_789 --tamper
  gatehouse sign pre-user-invitation --email bob@example.com --url https://gatehouse.example.com
  gatehouse policy test infra/policy/default.yaml policy-cases/
  gatehouse decisions --decision DENY --since 1h
  gatehouse decisions --since 1h --count
  gatehouse decisions --follow --test
  gatehouse explain 5f1c0a52-… --test
  gatehouse lookup jane@mailinator.com 203.0.113.5
  gatehouse warm signups-last-90-days.csv --wait 120
`;
