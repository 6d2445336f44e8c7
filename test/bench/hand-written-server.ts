// The usual hand-written interceptor endpoint, as Scalekit's guide shows it: verify with the official SDK
// (`verifyInterceptorPayload`), then enrich inline before answering — an MX lookup of the email's domain
// and a call to an IP-reputation service for PRE_SIGNUP (both at once, the better way to write it), a call
// to the team's claims service for PRE_SESSION_CREATION. Here both providers are the local stubs.
// Env: PORT, SCALEKIT_INTERCEPTOR_SECRET, BENCH_DNS (host:port), BENCH_PROVIDERS_URL.
import { Resolver } from "node:dns/promises";
import { ScalekitClient } from "@scalekit-sdk/node";
import Fastify from "fastify";

const secret = process.env.SCALEKIT_INTERCEPTOR_SECRET ?? "";
const providers = process.env.BENCH_PROVIDERS_URL ?? "";
// The constructor only stores settings; verifyInterceptorPayload is pure computation, no network.
const scalekit = new ScalekitClient("https://bench.invalid", "skc_bench", "bench-client-secret");
const resolver = new Resolver();
resolver.setServers([process.env.BENCH_DNS ?? "127.0.0.1:53"]);

type Event = {
  interceptor_context: {
    user_email?: string;
    ip_address?: string;
    user_id?: string;
    organization_id?: string;
  };
};

const UNVERIFIED = { decision: "DENY", error: { message: "This request could not be verified." } };

/** The body as an event, or undefined when the signature does not hold. */
function verified(
  headers: Record<string, string | string[] | undefined>,
  payload: string,
): Event | undefined {
  try {
    scalekit.verifyInterceptorPayload(secret, headers as Record<string, string>, payload);
  } catch {
    return undefined;
  }
  return JSON.parse(payload) as Event;
}

async function hasMx(domain: string): Promise<boolean> {
  try {
    return (await resolver.resolveMx(domain)).length > 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return !(code === "ENOTFOUND" || code === "ENODATA");
  }
}

async function reputation(ip: string): Promise<{ listed: boolean }> {
  const response = await fetch(`${providers}/reputation?ip=${encodeURIComponent(ip)}`);
  return (await response.json()) as { listed: boolean };
}

const app = Fastify({ logger: false });
app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) =>
  done(null, body),
);

app.post("/auth/interceptors/pre-signup", async (request) => {
  const event = verified(request.headers, request.body as string);
  if (!event) return UNVERIFIED;
  const { user_email: email = "", ip_address: ip = "" } = event.interceptor_context;
  const [mx, ipReputation] = await Promise.all([hasMx(email.split("@")[1] ?? ""), reputation(ip)]);
  if (!mx)
    return {
      decision: "DENY",
      error: { message: "Please sign up with an email address that receives mail." },
    };
  if (ipReputation.listed)
    return { decision: "DENY", error: { message: "Sign-up is not available from your network." } };
  return { decision: "ALLOW" };
});

app.post("/auth/interceptors/pre-session-creation", async (request) => {
  const event = verified(request.headers, request.body as string);
  if (!event) return UNVERIFIED;
  const { user_id, organization_id, user_email } = event.interceptor_context;
  const response = await fetch(`${providers}/claims`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id, organization_id, email: user_email }),
  });
  const { claims } = (await response.json()) as { claims: Record<string, unknown> };
  return { decision: "ALLOW", response: { claims } };
});

app.get("/healthz", async () => ({ status: "ok" }));

const stop = () => void app.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
