// The enrichment providers, as one process of their own, with a latency that can be changed while it runs:
// - DNS (UDP): MX records for every name except those starting with `nomx-`;
// - GET  /reputation?ip=… → {ip, listed}: an IP-reputation service, listing the addresses of BENCH_BLOCKLIST_FILE;
// - POST /claims → {claims: {…}}: the team's claims service (GATEHOUSE_CLAIMS_URL of the worker);
// - POST /delay {ms} sets the latency of all three; GET /stats counts what was asked.
// Prints one JSON line with its addresses when ready.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { startStubDnsServer } from "../../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { NO_MX_PREFIX } from "./workload.js";

const initialDelay = Number(process.env.BENCH_PROVIDER_LATENCY_MS ?? 50);
const listed = new Set(
  process.env.BENCH_BLOCKLIST_FILE
    ? readFileSync(process.env.BENCH_BLOCKLIST_FILE, "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"))
    : [],
);

const dns = await startStubDnsServer(
  (name) => (name.startsWith(NO_MX_PREFIX) ? undefined : { mx: [[10, `mx.${name}`]] }),
  { delayMs: initialDelay },
);
const counts = { reputation: 0, claims: 0 };

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => resolve(body));
  });

const server = createServer(async (request, response) => {
  const url = new URL(request.url ?? "/", "http://stub");
  const body = await readBody(request);
  const send = (status: number, value: unknown, delayed = true) => {
    const json = JSON.stringify(value);
    const write = () => response.writeHead(status, { "content-type": "application/json" }).end(json);
    if (delayed && dns.delayMs > 0) setTimeout(write, dns.delayMs);
    else write();
  };
  if (request.method === "GET" && url.pathname === "/reputation") {
    counts.reputation++;
    const ip = url.searchParams.get("ip") ?? "";
    return send(200, { ip, listed: listed.has(ip) });
  }
  if (request.method === "POST" && url.pathname === "/claims") {
    counts.claims++;
    const { user_id: userId } = JSON.parse(body || "{}") as { user_id?: string };
    return send(200, {
      claims: { plan: "pro", seats: 25, tier: userId?.endsWith("7") ? "gold" : "standard" },
    });
  }
  if (request.method === "POST" && url.pathname === "/delay") {
    dns.delayMs = Number((JSON.parse(body) as { ms: number }).ms);
    return send(200, { ms: dns.delayMs }, false);
  }
  if (request.method === "GET" && url.pathname === "/stats") {
    return send(200, { delayMs: dns.delayMs, dnsQueries: dns.queryCount(), ...counts }, false);
  }
  send(404, { error: "not found" }, false);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ dns: dns.address, http: `http://127.0.0.1:${port}` })}\n`);

const stop = () => {
  server.close();
  void dns.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
