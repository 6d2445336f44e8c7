import { randomUUID } from "node:crypto";
import { bullPrefix, DEFAULTS, queueName } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS, type EnrichmentName } from "@gatehouse/enrichments";
import { ingressEnvSchema, parseIngressEnv } from "@gatehouse/ingress/src/env.js";
import { createRedis } from "@gatehouse/redis";
import { parseWorkerEnv, workerEnvSchema } from "@gatehouse/worker/src/env.js";
import { Queue } from "bullmq";
import { describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { INGRESS, WORKER } from "./support/artifacts.js";
import {
  type ComposeService,
  composeFile,
  DOCKERFILE,
  deploymentNamed,
  dockerStages,
  execForm,
  imageEnv,
  interpolate,
  type K8sObject,
  k8sDocuments,
  lastOf,
  podSpec,
  readRepoFile,
  stageChain,
} from "./support/deploy-files.js";
import { SECRET } from "./support/ingress-harness.js";

// What the images, compose and Kubernetes run is what `npm start` runs: the same entry points (built), and
// only settings the apps declare, with values their own parsers accept.

type App = "ingress" | "worker";

/** The entry point scripts/start.ts spawns for an app, as the bundle npm run build makes of it. */
function npmStartEntry(app: App): string {
  const start = readRepoFile("scripts/start.ts");
  const spawned = new RegExp(`run\\("${app}", tsx, \\["(apps/${app}/src/[\\w-]+)\\.ts"\\]`).exec(start)?.[1];
  if (!spawned) throw new Error(`scripts/start.ts no longer spawns the ${app} as expected`);
  const build = (JSON.parse(readRepoFile(`apps/${app}/package.json`)) as { scripts: { build: string } })
    .scripts.build;
  const source = spawned.slice(`apps/${app}/`.length);
  expect(build, `apps/${app}'s build bundles ${source}`).toContain(`bundle.mjs ${source}.ts`);
  // scripts/bundle.mjs: outdir dist, one file per entry named after it.
  return `apps/${app}/dist/${source.slice("src/".length)}.js`;
}

/** The variable names a zod object schema declares (through refine / transform pipes). */
function declared(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodPipe) return declared(schema.in as z.ZodType);
  throw new Error("not an object schema");
}
const WORKER_SETTINGS = new Set([
  ...declared(workerEnvSchema),
  ...Object.values(ENRICHMENTS).flatMap((e) => declared(e.settings as z.ZodType)),
]);
const INGRESS_SETTINGS = new Set(declared(ingressEnvSchema));
// Read by Node and libraries, not by the apps' settings.
const RUNTIME = new Set(["NODE_ENV"]);

/** Fails with the names an app does not declare; then parses the env as the app would at start. */
function checkEnv(app: App, env: Record<string, string>): void {
  const known = app === "ingress" ? INGRESS_SETTINGS : WORKER_SETTINGS;
  expect(Object.keys(env).filter((name) => !known.has(name) && !RUNTIME.has(name))).toEqual([]);
  if (app === "ingress") {
    parseIngressEnv(env);
    return;
  }
  parseWorkerEnv(env);
}

/** The longest a job of this enrichment can run (its timeout, else the SDK's default). */
const jobTimeoutMs = (name: EnrichmentName) => ENRICHMENTS[name].timeoutMs ?? DEFAULTS.timeoutMs;

const stages = dockerStages();
const compose = composeFile();
const documents = k8sDocuments();
const secretData = (documents.find((d) => d.object.kind === "Secret")?.object.stringData ?? {}) as Record<
  string,
  string
>;

/** A Kubernetes container's env, secretKeyRefs read from secret.yaml's placeholders. */
function k8sEnv(deployment: K8sObject): Record<string, string> {
  const container = podSpec(deployment).containers[0]!;
  expect(container.envFrom, "env is listed name by name").toBeUndefined();
  return Object.fromEntries(
    (container.env ?? []).map((e) => {
      const ref = e.valueFrom?.secretKeyRef;
      const value = ref ? secretData[ref.key] : e.value;
      if (value === undefined) throw new Error(`${e.name}: no value (secret key ${ref?.key}?)`);
      return [e.name, value];
    }),
  );
}
const workerDeployments = documents
  .map((d) => d.object)
  .filter((o) => o.kind === "Deployment" && podSpec(o).containers[0]?.image.startsWith("gatehouse-worker"));

describe("the same entry points as npm start", () => {
  it.each(["ingress", "worker"] as const)(
    "%s: the image's CMD runs the bundle of what npm start runs",
    (app) => {
      const entry = npmStartEntry(app);
      expect(entry).toBe(app === "ingress" ? INGRESS : WORKER);
      expect(execForm(lastOf(stageChain(stages, app), "CMD")!)).toEqual(["node", entry]);
    },
  );

  it.each(["ingress", "worker"] as const)("%s: compose builds that target and keeps its CMD", (app) => {
    const service = compose.services[app] as ComposeService;
    expect(service.build).toMatchObject({ context: "..", dockerfile: DOCKERFILE, target: app });
    expect(service.command).toBeUndefined();
    expect(service.entrypoint).toBeUndefined();
  });

  it("Kubernetes runs the images' CMD (no command or args) of the gatehouse-ingress / gatehouse-worker images", () => {
    const deployments = documents.map((d) => d.object).filter((o) => o.kind === "Deployment");
    expect(deployments.length).toBe(1 + workerDeployments.length);
    for (const deployment of deployments) {
      for (const container of podSpec(deployment).containers) {
        expect(container.image).toMatch(/^gatehouse-(ingress|worker):/);
        expect(container.command).toBeUndefined();
        expect(container.args).toBeUndefined();
      }
    }
  });
});

describe("the same settings as npm start", () => {
  // scripts/start.ts hands the apps these on top of the caller's environment.
  const started = [
    ...readRepoFile("scripts/start.ts").matchAll(/const env = \{ \.\.\.process\.env, ([^}]+)\}/g),
  ]
    .flatMap((m) => (m[1] ?? "").split(","))
    .map((pair) => pair.split(":")[0]?.trim())
    .filter((name): name is string => Boolean(name));

  it("npm start's own settings are declared by the ingress", () => {
    expect(started).toEqual(expect.arrayContaining(["REDIS_URL", "SCALEKIT_INTERCEPTOR_SECRET", "PORT"]));
    for (const name of started) expect(INGRESS_SETTINGS.has(name)).toBe(true);
  });

  it.each(["ingress", "worker"] as const)("%s: the image's ENV is declared", (app) => {
    const given: Record<string, string> = app === "ingress" ? { SCALEKIT_INTERCEPTOR_SECRET: SECRET } : {};
    checkEnv(app, { ...imageEnv(stageChain(stages, app)), ...given });
  });

  it.each(["ingress", "worker"] as const)(
    "%s: compose sets only declared settings, valid ones, and npm start's",
    (app) => {
      const service = compose.services[app] as ComposeService;
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([name, value]) => [
          name,
          interpolate(String(value), { SCALEKIT_INTERCEPTOR_SECRET: SECRET }),
        ]),
      );
      checkEnv(app, { ...imageEnv(stageChain(stages, app)), ...env });
      const needed = app === "ingress" ? started : ["REDIS_URL"];
      for (const name of needed)
        expect(Object.keys({ ...imageEnv(stageChain(stages, app)), ...env })).toContain(name);
    },
  );

  it("Kubernetes: each container sets only declared settings, valid ones, and npm start's", () => {
    const ingress = deploymentNamed(documents, "gatehouse-ingress");
    checkEnv("ingress", { ...imageEnv(stageChain(stages, "ingress")), ...k8sEnv(ingress) });
    for (const name of started) expect(Object.keys(k8sEnv(ingress))).toContain(name);
    for (const worker of workerDeployments) {
      checkEnv("worker", { ...imageEnv(stageChain(stages, "worker")), ...k8sEnv(worker) });
      expect(Object.keys(k8sEnv(worker))).toContain("REDIS_URL");
    }
  });

  it("the check is not vacuous: an undeclared or invalid setting fails it", () => {
    expect(() =>
      checkEnv("worker", { REDIS_URL: "redis://r:6379", GATEHOUSE_ENRICHMENT: "email-domain" }),
    ).toThrow();
    expect(() => checkEnv("ingress", { SCALEKIT_INTERCEPTOR_SECRET: SECRET, PORT: "http" })).toThrow(/PORT/);
  });
});

describe("workers: queue groups, KEDA and stopping", () => {
  const groups = workerDeployments.map((deployment) => {
    const env = parseWorkerEnv(k8sEnv(deployment));
    return { deployment, env, enrichments: env.GATEHOUSE_ENRICHMENTS as EnrichmentName[] };
  });

  it("every queue is served by exactly one worker Deployment", () => {
    const served = groups.flatMap((g) => g.enrichments).sort();
    expect(served).toEqual(Object.keys(ENRICHMENTS).sort());
  });

  it.each(groups.map((g) => [g.deployment.metadata.name, g] as const))(
    "%s: a KEDA ScaledObject on exactly its queues' BullMQ wait lists",
    (name, group) => {
      const scaledObject = documents.find(
        (d) =>
          d.object.kind === "ScaledObject" &&
          d.object.spec &&
          (d.object.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === name,
      )?.object.spec as
        | { triggers: { type: string; metadata: { listName: string; listLength: string } }[] }
        | undefined;
      expect(scaledObject, `a ScaledObject targets ${name}`).toBeDefined();
      const lists = scaledObject!.triggers.map((t) => {
        expect(t.type).toBe("redis");
        return t.metadata.listName;
      });
      const expected = group.enrichments.map(
        (e) => `${bullPrefix(group.env.GATEHOUSE_KEY_PREFIX)}:${queueName(ENRICHMENTS[e])}:wait`,
      );
      expect(lists.sort()).toEqual(expected.sort());
    },
  );

  it.each(groups.map((g) => [g.deployment.metadata.name, g] as const))(
    "%s: its termination grace period outlasts its longest job plus the job lock",
    (_, group) => {
      const longestJob = Math.max(...group.enrichments.map((e) => jobTimeoutMs(e)));
      const grace = podSpec(group.deployment).terminationGracePeriodSeconds ?? 30;
      expect(grace * 1000).toBeGreaterThan(longestJob + group.env.GATEHOUSE_JOB_LOCK_MS);
    },
  );

  it.each(groups.map((g) => [g.deployment.metadata.name, g] as const))(
    "%s: probed on its own port — liveness /healthz, readiness /readyz — the one its settings and the image give",
    (_, group) => {
      const container = podSpec(group.deployment).containers[0]!;
      const port = container.ports?.find((p) => p.name === "http")?.containerPort;
      expect(port).toBe(group.env.GATEHOUSE_WORKER_PORT);
      expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      const chain = stageChain(stages, "worker");
      expect(Number(imageEnv(chain).GATEHOUSE_WORKER_PORT)).toBe(port);
      expect(lastOf(chain, "EXPOSE")?.text).toContain(String(port));
    },
  );

  it("compose gives the workers as long to stop", () => {
    const env = parseWorkerEnv((compose.services.worker as ComposeService).environment ?? {});
    const longestJob = Math.max(...env.GATEHOUSE_ENRICHMENTS.map((e) => jobTimeoutMs(e)));
    const grace = Number.parseInt((compose.services.worker as ComposeService).stop_grace_period ?? "10", 10);
    expect(grace * 1000).toBeGreaterThan(longestJob + env.GATEHOUSE_JOB_LOCK_MS);
  });

  it("the wait list KEDA reads is where BullMQ 5 keeps waiting jobs (a real queue, a real Redis)", async () => {
    const redis = createRedis({ url: inject("redisUrl") }, "bullmq");
    const prefix = `keda${randomUUID().slice(0, 8)}`;
    const queue = new Queue(queueName(ENRICHMENTS["email-domain"]), {
      connection: redis,
      prefix: bullPrefix(prefix),
    });
    try {
      await queue.add("probe", {});
      await queue.add("probe", {});
      const key = `${bullPrefix(prefix)}:${queueName(ENRICHMENTS["email-domain"])}:wait`;
      expect(await redis.type(key)).toBe("list");
      expect(await redis.llen(key)).toBe(await queue.getWaitingCount());
      expect(await redis.llen(key)).toBe(2);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await redis.quit();
    }
  });
});
