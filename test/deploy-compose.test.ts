import { existsSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/child-process.js";
import { COMPOSE, type ComposeService, composeFile, readRepoFile } from "./support/deploy-files.js";

// infra/compose.yaml against the Compose Specification's JSON schema (infra/schemas/compose, vendored from
// compose-spec/compose-spec), then what the issue asks of it. Compose cannot run here (no container engine).

// The schema names draft-07 by its https:// URI, which Ajv (draft-07 by default, registered as http://) does
// not know: drop the declaration. Not strict: the spec uses annotations (`deprecated`) strict mode refuses.
const { $schema, ...schema } = JSON.parse(readRepoFile("infra/schemas/compose/compose-spec.json")) as {
  $schema: string;
};
if ($schema !== "https://json-schema.org/draft-07/schema")
  throw new Error(`compose-spec.json is now ${$schema}`);
const validateCompose = new Ajv({ strict: false, allErrors: true }).compile(schema);
const errorsOf = (file: unknown) =>
  validateCompose(file) ? [] : (validateCompose.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

const compose = composeFile();
const service = (name: string) => compose.services[name] as ComposeService;
/** A service's bind mounts, host side resolved against infra/ (compose.yaml's directory). */
const binds = (name: string) =>
  (service(name).volumes ?? [])
    .map((volume) => volume.split(":"))
    .filter(([host]) => host?.startsWith("."))
    .map(([host = "", container = "", mode]) => ({ host: join(ROOT, "infra", host), container, mode }));

describe("infra/compose.yaml", () => {
  it("is valid against the Compose Specification schema", () => {
    expect(errorsOf(compose)).toEqual([]);
  });

  it("the schema check is not vacuous: a misplaced or misspelt key fails it", () => {
    const misspelt = structuredClone(compose);
    (misspelt.services.worker as ComposeService).deploy = { replica: 2 } as never;
    expect(errorsOf(misspelt).join()).toMatch(/additional properties/);
    const wrongType = structuredClone(compose);
    (wrongType.services.ingress as ComposeService).ports = 8080 as never;
    expect(errorsOf(wrongType)).not.toEqual([]);
  });

  it("runs Redis with infra/redis/redis.conf: noeviction and AOF, data on a volume, health-checked", () => {
    const redis = service("redis");
    const conf = binds("redis").find((b) => b.host.endsWith("redis.conf"));
    expect(conf?.mode).toBe("ro");
    expect(redis.command?.slice(0, 2)).toEqual(["redis-server", conf?.container]);
    const settings = readRepoFile("infra/redis/redis.conf");
    expect(settings).toMatch(/^maxmemory-policy noeviction$/m);
    expect(settings).toMatch(/^appendonly yes$/m);
    expect(redis.volumes).toContain("redis-data:/data");
    expect(redis.healthcheck).toBeDefined();
  });

  it("runs two ingress replicas on published ports and two workers, after Redis is healthy", () => {
    expect(service("ingress").deploy?.replicas).toBe(2);
    expect(service("worker").deploy?.replicas).toBe(2);
    // A host port range: one published port per replica, nothing in between.
    const [published = "", target] = (service("ingress").ports?.[0] ?? "").split(":");
    const [first = 0, last = 0] = published.split("-").map(Number);
    expect(last - first + 1).toBe(2);
    expect(target).toBe(service("ingress").environment?.PORT);
    for (const name of ["ingress", "worker"]) {
      expect(service(name).depends_on).toEqual({ redis: { condition: "service_healthy" } });
    }
  });

  it("mounts the policy directory read-only, and GATEHOUSE_POLICY names a policy file inside it", () => {
    const policyPath = service("ingress").environment?.GATEHOUSE_POLICY ?? "";
    const mount = binds("ingress").find((b) => policyPath.startsWith(`${b.container}/`));
    expect(mount?.mode).toBe("ro");
    expect(statSync(mount?.host ?? "").isDirectory()).toBe(true);
    const file = join(mount?.host ?? "", posix.relative(mount?.container ?? "", policyPath));
    expect(existsSync(file), `${file} (from ${COMPOSE})`).toBe(true);
  });

  it("builds each app from infra/docker/Dockerfile in the repository root", () => {
    for (const name of ["ingress", "worker"]) {
      const context = join(ROOT, "infra", service(name).build?.context ?? "");
      expect(existsSync(join(context, service(name).build?.dockerfile ?? ""))).toBe(true);
      expect(existsSync(join(context, "package-lock.json"))).toBe(true);
    }
  });
});
