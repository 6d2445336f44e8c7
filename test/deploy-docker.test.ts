import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { createRedis, type Redis } from "@gatehouse/redis";
import { Queue } from "bullmq";
import { validate } from "dockerfile-utils";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { buildRequestBody } from "../apps/cli/src/build-request.js";
import { sendInterceptorRequest } from "../apps/cli/src/send-request.js";
import { assertBuilt } from "./support/artifacts.js";
import { ROOT } from "./support/child-process.js";
import {
  DOCKERFILE,
  type DockerStage,
  dockerStages,
  execForm,
  imageEnv,
  lastOf,
  productionClosure,
  readRepoFile,
  stageChain,
} from "./support/deploy-files.js";
import { SECRET } from "./support/ingress-harness.js";
import { freePort } from "./support/redis-server.js";

// The images cannot be built here (no container engine), so: the Dockerfile is linted, and the two
// runtime targets are assembled in a temporary directory from exactly what their COPY instructions take —
// the bundles from the build stage, the production node_modules the deps stage installs — and run from
// there against the test Redis, health checks and SIGTERM included.

describe("Dockerfile", () => {
  it("passes dockerfile-utils' linter with no diagnostic", async () => {
    expect(await validate(readRepoFile(DOCKERFILE))).toEqual([]);
  });

  it("the linter does catch mistakes (the check is not vacuous)", async () => {
    const broken = `FROM node:20-bookworm-slim\nRUNN npm ci\nEXPOSE http\nHEALTHCHECK CMD\n`;
    const messages = (await validate(broken)).map((d) => d.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "Unknown instruction: RUNN",
        "Invalid containerPort: http",
        "Missing command after HEALTHCHECK CMD",
      ]),
    );
  });

  const stages = dockerStages();
  it.each(["ingress", "worker"])(
    "%s: slim Node 20, NODE_ENV=production, non-root, exec-form CMD",
    (target) => {
      const chain = stageChain(stages, target);
      expect(chain[0]?.base).toMatch(/^node:20(\.\d+)*-(bookworm|trixie)-slim$/);
      expect(imageEnv(chain).NODE_ENV).toBe("production");
      expect(lastOf(chain, "USER")?.args).toEqual(["node"]);
      expect(lastOf(chain, "STOPSIGNAL")?.args).toEqual(["SIGTERM"]);
      expect(execForm(lastOf(chain, "CMD")!)[0]).toBe("node"); // node is PID 1 and gets SIGTERM itself
      expect(lastOf(chain, "HEALTHCHECK")).toBeDefined();
      expect(chain.flatMap((s) => s.instructions).some((i) => i.keyword === "ENTRYPOINT")).toBe(false);
    },
  );

  it("installs with npm install (not npm ci) and builds with npm run build", () => {
    const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.text));
    expect(runs.join("\n")).not.toMatch(/npm ci\b/);
    expect(runs.some((run) => /npm install\b/.test(run) && /npm run build\b/.test(run))).toBe(true);
  });
});

/** Where a runtime COPY takes its files from, on this machine. */
function copySources(stages: DockerStage[], stage: string | undefined, source: string): string[] {
  if (stage === undefined) return [source]; // the build context: the repository
  const from = stages.find((s) => s.name === stage);
  const workdir = from?.instructions.findLast((i) => i.keyword === "WORKDIR")?.args[0] ?? "/";
  const path = relative(workdir, source);
  if (path.startsWith(".."))
    throw new Error(`COPY --from=${stage} ${source}: outside its WORKDIR ${workdir}`);
  if (stage === "build") return [path]; // the repository after `npm run build`
  if (stage === "deps" && path === "node_modules") {
    // `npm install --omit=dev --workspace=…` then `rm -rf node_modules/@gatehouse`: npm's own closure.
    const run = from?.instructions.find((i) => i.keyword === "RUN" && /npm install --omit=dev/.test(i.text));
    const workspaces = [...(run?.text.matchAll(/--workspace=(\S+)/g) ?? [])].map((m) => m[1] ?? "");
    expect(workspaces.length).toBeGreaterThan(0);
    expect(run?.text).toMatch(/rm -rf node_modules\/@gatehouse\b/);
    return productionClosure(workspaces).filter((p) => !p.startsWith("node_modules/@gatehouse/"));
  }
  throw new Error(`no local equivalent for COPY --from=${stage} ${source}`);
}

/** Lays out a target's /app as its runtime COPY instructions would, under `root`. */
function assembleImage(stages: DockerStage[], target: string, root: string): string {
  const chain = stageChain(stages, target);
  const workdir = lastOf(chain, "WORKDIR")?.args[0] ?? "/";
  for (const copy of chain.flatMap((s) => s.instructions.filter((i) => i.keyword === "COPY"))) {
    const stage = copy.flags.from;
    const [source = "", destination = ""] = copy.args;
    const targetPath = join(root, workdir, destination);
    for (const path of copySources(stages, stage, source)) {
      const from = join(ROOT, path);
      if (!existsSync(from)) throw new Error(`${path} is missing (COPY ${copy.text})`);
      // A path under node_modules/ copies the package itself; its nested node_modules are listed apart.
      const to = source.endsWith("node_modules")
        ? join(targetPath, relative("node_modules", path))
        : targetPath;
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to, {
        recursive: true,
        filter: (file) => !relative(from, file).split("/").includes("node_modules"),
      });
    }
  }
  return join(root, workdir);
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs a command in the assembled image's directory with only the environment given (no NODE_PATH). */
function runIn(cwd: string, command: string[], env: Record<string, string>): Running {
  const [file = "node", ...args] = command;
  const child = spawn(file === "node" ? process.execPath : file, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe("the runtime images' contents suffice", () => {
  const stages = dockerStages();
  const redisUrl = inject("redisUrl");
  const prefix = `img${randomUUID().slice(0, 8)}`;
  let root = "";
  let apps: Record<"ingress" | "worker", string> = { ingress: "", worker: "" };
  let ingress: Running | undefined;
  let worker: Running | undefined;
  let redis: Redis;
  let url = "";
  let workerPort = "";
  const env = { REDIS_URL: redisUrl, GATEHOUSE_KEY_PREFIX: prefix, LOG_LEVEL: "warn" };

  beforeAll(async () => {
    assertBuilt();
    root = mkdtempSync(join(tmpdir(), "gatehouse-image-"));
    apps = {
      ingress: assembleImage(stages, "ingress", join(root, "ingress")),
      worker: assembleImage(stages, "worker", join(root, "worker")),
    };
    redis = createRedis({ url: redisUrl }, "bullmq");
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const start = (target: "ingress" | "worker", extra: Record<string, string>) => {
      const chain = stageChain(stages, target);
      return runIn(apps[target], execForm(lastOf(chain, "CMD")!), { ...imageEnv(chain), ...env, ...extra });
    };
    workerPort = String(await freePort());
    worker = start("worker", { GATEHOUSE_WORKER_PORT: workerPort, HOST: "127.0.0.1" });
    ingress = start("ingress", {
      PORT: String(port),
      HOST: "127.0.0.1",
      SCALEKIT_INTERCEPTOR_SECRET: SECRET,
    });
    const queues = ["email-domain", "ip-reputation", "user-claims"].map(
      (name) => new Queue(`enrich.${name}`, { connection: redis, prefix: bullPrefix(prefix) }),
    );
    try {
      await vi.waitFor(
        async () => {
          for (const [name, app] of Object.entries({ ingress, worker })) {
            if (app?.child.exitCode !== null) throw new Error(`${name} exited:\n${app?.output()}`);
          }
          expect((await fetch(`${url}/readyz`).catch(() => undefined))?.status).toBe(200);
          for (const queue of queues) expect(await queue.getWorkersCount()).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 100 },
      );
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
    }
  }, 40_000);

  afterAll(async () => {
    for (const app of [ingress, worker]) if (app?.child.exitCode === null) app.child.kill("SIGKILL");
    await redis?.quit();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("holds the bundles and production dependencies only", () => {
    const modules = readdirSync(join(apps.worker, "node_modules"));
    expect(modules).toEqual(expect.arrayContaining(["bullmq", "fastify", "ioredis", "zod"]));
    for (const devOnly of ["typescript", "vitest", "esbuild", "tsx", "turbo", "@biomejs", "@gatehouse"]) {
      expect(modules).not.toContain(devOnly);
    }
    expect(readdirSync(join(apps.ingress, "apps"))).toEqual(["ingress"]);
    expect(readdirSync(join(apps.worker, "apps"))).toEqual(["worker"]);
  });

  it("answers a signed request end to end: the worker warmed the disposable list, the ingress denies", async () => {
    const sent = await sendInterceptorRequest({
      url,
      secret: SECRET,
      trigger: "PRE_SIGNUP",
      body: buildRequestBody("PRE_SIGNUP", { email: "someone@mailinator.com" }),
      timeoutMs: 5_000,
    });
    expect(sent.status).toBe(200);
    expect(sent.decision).toBe("DENY");
  });

  it("each HEALTHCHECK command passes, run as the image would run it", async () => {
    for (const target of ["ingress", "worker"] as const) {
      const chain = stageChain(stages, target);
      const command = execForm(lastOf(chain, "HEALTHCHECK")!);
      const ports = { PORT: new URL(url).port, GATEHOUSE_WORKER_PORT: workerPort };
      const check = runIn(apps[target], command, { ...imageEnv(chain), ...env, ...ports });
      expect(await check.exited, `${target}: ${check.output()}`).toBe(0);
    }
  });

  it("the worker's health check fails while its Redis cannot be reached, though its port answers", async () => {
    const chain = stageChain(stages, "worker");
    const port = String(await freePort());
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const stranded = runIn(apps.worker, execForm(lastOf(chain, "CMD")!), {
      ...imageEnv(chain),
      ...env,
      REDIS_URL: unreachable,
      GATEHOUSE_WORKER_PORT: port,
      HOST: "127.0.0.1",
    });
    try {
      await vi.waitFor(
        async () => {
          const health = await fetch(`http://127.0.0.1:${port}/healthz`);
          expect(await health.json()).toEqual({ status: "starting" });
        },
        { timeout: 10_000, interval: 100 },
      );
      const check = runIn(apps.worker, execForm(lastOf(chain, "HEALTHCHECK")!), {
        ...imageEnv(chain),
        GATEHOUSE_WORKER_PORT: port,
      });
      expect(await check.exited, check.output()).toBe(1);
    } finally {
      stranded.child.kill("SIGKILL");
    }
  });

  it("both exit 0 on SIGTERM", async () => {
    ingress?.child.kill("SIGTERM");
    worker?.child.kill("SIGTERM");
    expect(await ingress?.exited, ingress?.output()).toBe(0);
    expect(await worker?.exited, worker?.output()).toBe(0);
  });
});

describe("docker build context", () => {
  it(".dockerignore keeps local installs and build output out of the context", () => {
    const ignored = readRepoFile(".dockerignore").split("\n");
    for (const pattern of ["**/node_modules", "**/dist", ".git", ".gatehouse"])
      expect(ignored).toContain(pattern);
  });
});
