// The limit: a bare Fastify route that answers a constant ALLOW — no verification, no parsing, no Redis.
// It reads the body as raw bytes like the ingress does, and logs nothing per request, like the ingress at
// its production level. Listens on PORT at 127.0.0.1.
import { ROUTE_TRIGGERS } from "@gatehouse/contracts";
import Fastify from "fastify";

const ALLOW = JSON.stringify({ decision: "ALLOW" });
const JSON_TYPE = "application/json; charset=utf-8";

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
for (const slug of Object.keys(ROUTE_TRIGGERS)) {
  app.post(`/auth/interceptors/${slug}`, async (_request, reply) => reply.type(JSON_TYPE).send(ALLOW));
}
app.get("/healthz", async () => ({ status: "ok" }));

const stop = () => void app.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
