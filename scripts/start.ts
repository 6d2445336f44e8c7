// `npm start`: the whole system on this machine — an embedded Redis (unless REDIS_URL, REDIS_CLUSTER_NODES
// or REDIS_SENTINELS is set), the ingress and one worker, with the default policy unless GATEHOUSE_POLICY is
// set. Ctrl-C stops all of it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { generateSecret } from "@gatehouse/signature";

const root = resolve(import.meta.dirname, "..");
const state = join(root, ".gatehouse");
mkdirSync(state, { recursive: true });
const children: ChildProcess[] = [];
let stopping = false;
const clusterNodes = process.env.REDIS_CLUSTER_NODES || undefined;
const sentinels = process.env.REDIS_SENTINELS || undefined;
const externalRedis = Boolean(process.env.REDIS_URL || clusterNodes || sentinels);

const portIsFree = (port: number) =>
  new Promise<boolean>((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });

async function firstFreePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port in ${from}..${from + 99}`);
}

function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`\n${name} exited (${signal ?? code}); stopping everything.`);
    void stop(1);
  });
  children.push(child);
  return child;
}

async function stop(code: number): Promise<never> {
  stopping = true;
  // Ingress and worker first (they flush and finish jobs), Redis last.
  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((done) => child.once("exit", () => done()));
  const [redis, ...apps] = externalRedis ? [undefined, ...children] : children;
  for (const child of apps) child?.kill("SIGTERM");
  await Promise.race([
    Promise.all(apps.map((child) => child && exited(child))),
    new Promise((r) => setTimeout(r, 15_000)),
  ]);
  if (redis) {
    redis.kill("SIGTERM");
    await exited(redis);
  }
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

async function waitFor(url: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

// Redis: the one (or the cluster) given, or an embedded one with its own data directory (append-only file,
// noeviction).
let redisUrl = process.env.REDIS_URL;
if (!externalRedis) {
  const port = await firstFreePort(6380);
  const dir = join(state, "redis");
  mkdirSync(dir, { recursive: true });
  run(
    "redis-server",
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
      "--loglevel",
      "warning",
    ],
    process.env,
  );
  redisUrl = `redis://127.0.0.1:${port}`;
}

// The signing secret: the one given, or one generated once and kept in .gatehouse/ across restarts.
const secretFile = join(state, "secret");
const secret =
  process.env.SCALEKIT_INTERCEPTOR_SECRET ??
  (existsSync(secretFile) ? readFileSync(secretFile, "utf8").trim() : generateSecret());
if (!process.env.SCALEKIT_INTERCEPTOR_SECRET) writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

const port = process.env.PORT ?? "8080";
// REDIS_URL is undefined with a cluster: spawn leaves out variables whose value is undefined.
const env = { ...process.env, REDIS_URL: redisUrl, SCALEKIT_INTERCEPTOR_SECRET: secret, PORT: port };
const tsx = join(root, "node_modules", ".bin", "tsx");
run("worker", tsx, ["apps/worker/src/main.ts"], env);
run("ingress", tsx, ["apps/ingress/src/server.ts"], env);

const url = `http://127.0.0.1:${port}`;
if (!(await waitFor(`${url}/readyz`, 30_000))) {
  // Up but not ready: /readyz is 503 while Redis is unreachable (the ingress itself answers fallbacks).
  const up = await waitFor(`${url}/healthz`, 1_000);
  const target = clusterNodes
    ? `the Redis Cluster at ${clusterNodes}`
    : `Redis at ${redisUrl}${sentinels ? ` through the Sentinels at ${sentinels}` : ""}`;
  console.error(
    up
      ? `The ingress is up at ${url} but has not reached ${target} within 30 s: is it running and reachable?`
      : `The ingress did not start at ${url} within 30 s (see its log above).`,
  );
  await stop(1);
}
const firstSecret = secret.split(",")[0];
// What the CLI's Redis commands need to read this Redis and these keys.
const cliRedis = [
  clusterNodes ? `REDIS_CLUSTER_NODES=${clusterNodes}` : `REDIS_URL=${redisUrl}`,
  ...(sentinels ? [`REDIS_SENTINELS=${sentinels}`] : []),
  ...(process.env.GATEHOUSE_KEY_PREFIX ? [`GATEHOUSE_KEY_PREFIX=${process.env.GATEHOUSE_KEY_PREFIX}`] : []),
].join(" ");
const workerPort = process.env.GATEHOUSE_WORKER_PORT || "8081";
console.log(`
  Gatehouse is running.

  Ingress:   ${url}/auth/interceptors/pre-signup   (and /pre-session-creation, /pre-user-invitation,
             /pre-m2m-token-creation, and /auth/interceptors for any trigger)
  Worker:    ${workerPort === "0" ? "health and metrics on a free port (its log says which)" : `http://127.0.0.1:${workerPort}/metrics   (and /healthz, /readyz)`}
  Redis:     ${clusterNodes ? `Redis Cluster ${clusterNodes}` : `${redisUrl}${sentinels ? ` through the Sentinels at ${sentinels}` : externalRedis ? "" : "  (embedded, data in .gatehouse/redis)"}`}
  Secret:    ${secret}${process.env.SCALEKIT_INTERCEPTOR_SECRET ? "" : "  (generated, kept in .gatehouse/secret)"}
  Policy:    ${process.env.GATEHOUSE_POLICY ?? "the shipped default policy"}

  Try it (in another terminal):
    npx gatehouse send pre-signup --url ${url} --secret ${firstSecret} --email someone@mailinator.com
    npx gatehouse send pre-signup --url ${url} --secret ${firstSecret} --email someone@gmail.com

  Watch the decisions as they are made (gatehouse send's are test requests):
    ${cliRedis} npx gatehouse decisions --follow --test
  See the workers, their queues and what needs attention:
    ${cliRedis} npx gatehouse status

  Ctrl-C stops everything.
`);
