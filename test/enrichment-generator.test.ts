import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

// `npm run gen:enrichment` (@turbo/gen's own binary) run for real, into a scratch copy of the files it writes
// and changes (the repository's own tree is never touched), then the result checked the way `npm test` checks
// the repository: typechecked, linted, and its generated tests run.

const repo = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "gatehouse-gen-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every subject the generator offers, as its generated test names it. */
const SUBJECTS = ["email-domain", "email", "ip", "user", "organization", "client"];

/**
 * The scratch root: the root files the generator and the checks read, the registry package, the generator
 * itself, and a node_modules of links to the repository's packages — with each generated package linked as
 * `npm install` would link it.
 */
function prepareScratch(names: readonly string[]): void {
  for (const file of ["package.json", "turbo.json", "tsconfig.json", "biome.json", ".gitignore"])
    cpSync(join(repo, file), join(scratch, file));
  cpSync(join(repo, "packages/enrichments"), join(scratch, "packages/enrichments"), { recursive: true });
  cpSync(join(repo, "infra"), join(scratch, "infra"), { recursive: true });
  symlinkSync(join(repo, "turbo"), join(scratch, "turbo"));
  const modules = join(scratch, "node_modules");
  mkdirSync(join(modules, "@gatehouse"), { recursive: true });
  for (const entry of readdirSync(join(repo, "node_modules")))
    if (entry !== "@gatehouse") symlinkSync(join(repo, "node_modules", entry), join(modules, entry));
  for (const entry of readdirSync(join(repo, "node_modules/@gatehouse")))
    symlinkSync(join(repo, "node_modules/@gatehouse", entry), join(modules, "@gatehouse", entry));
  for (const name of names)
    symlinkSync(join(scratch, "packages", `enrich-${name}`), join(modules, "@gatehouse", `enrich-${name}`));
}

/** What the test reads of the worker group's manifests: the Deployment's env, the ScaledObject's triggers. */
interface Manifest {
  kind: string;
  spec: {
    template?: { spec: { containers: { env?: { name: string; value?: string }[] }[] } };
    triggers?: { metadata: { listName: string } }[];
  };
}

/** The worker group's queues (GATEHOUSE_ENRICHMENTS) and the wait lists KEDA scales it on, in a root. */
function workerGroup(root: string): { enrichments: string[]; waitLists: string[] } {
  const documents = parseAllDocuments(
    readFileSync(join(root, "infra/k8s/worker-ip-claims.yaml"), "utf8"),
  ).map((d) => d.toJS() as Manifest);
  const env = documents.find((d) => d.kind === "Deployment")?.spec.template?.spec.containers[0]?.env ?? [];
  const triggers = documents.find((d) => d.kind === "ScaledObject")?.spec.triggers ?? [];
  return {
    enrichments: env.find((e) => e.name === "GATEHOUSE_ENRICHMENTS")?.value?.split(",") ?? [],
    waitLists: triggers.map((t) => t.metadata.listName),
  };
}

/** Runs a check in the scratch root; a failure shows what the tool printed. */
async function check(tool: string, args: string[]): Promise<string> {
  try {
    return (await run(join(repo, "node_modules/.bin", tool), args, { cwd: scratch })).stdout;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`${tool} ${args.join(" ")} failed:\n${stdout}${stderr}`);
  }
}

describe("npm run gen:enrichment", () => {
  it("makes a package for each subject that typechecks, lints clean, passes its tests, and registers it", async () => {
    const names = SUBJECTS.map((subject) => `sample-${subject}`);
    prepareScratch(names);
    for (const [index, subject] of SUBJECTS.entries()) {
      const { stdout } = await run(
        process.execPath,
        [
          join(repo, "node_modules/@turbo/gen/dist/cli.js"),
          "run",
          "enrichment",
          "--args",
          names[index] as string,
          subject,
          "--root",
          scratch,
        ],
        { cwd: scratch },
      );
      expect(stdout).toContain("Success!");
    }

    const registry = readFileSync(join(scratch, "packages/enrichments/src/registry.ts"), "utf8");
    expect(registry).toContain('import { sampleEmailDomain } from "@gatehouse/enrich-sample-email-domain";');
    expect(registry).toContain('  "sample-client": sampleClient,\n');
    const dependencies = JSON.parse(readFileSync(join(scratch, "packages/enrichments/package.json"), "utf8"))
      .dependencies as Record<string, string>;
    expect(Object.keys(dependencies)).toEqual(
      expect.arrayContaining(names.map((name) => `@gatehouse/enrich-${name}`)),
    );

    // Deployed: a worker Deployment serves each queue and KEDA scales it on its wait list; an alert per queue.
    const before = workerGroup(repo);
    const after = workerGroup(scratch);
    expect(after.enrichments).toEqual([...before.enrichments, ...names]);
    expect(after.waitLists).toEqual([
      ...before.waitLists,
      ...names.map((name) => `gh:{bull}:enrich.${name}:wait`),
    ]);
    const alerts = (
      parse(readFileSync(join(scratch, "infra/prometheus/gatehouse-alerts.yaml"), "utf8")) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    for (const name of names)
      expect(
        alerts.filter(
          (a) => a.expr === `absent(gatehouse_enrichment_worker_running{enrichment="${name}"} == 1)`,
        ),
      ).toHaveLength(1);
    expect(alerts.find((a) => a.alert === "GatehouseNoWorkerForSampleEmailDomain")?.expr).toContain(
      '"sample-email-domain"',
    );
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);

    // The registry's compile-time checks included: the new entries are named after their keys.
    await check("tsc", ["--noEmit", "-p", "tsconfig.json"]);
    await check("biome", ["check", "packages"]);
    const tests = await check("vitest", [
      "run",
      "--root",
      scratch,
      "--reporter=json",
      "packages/enrich-sample-",
    ]);
    expect(JSON.parse(tests)).toMatchObject({
      numPassedTests: SUBJECTS.length * 6,
      numFailedTests: 0,
    });

    // A name taken already is refused.
    const again = run(
      process.execPath,
      [
        join(repo, "node_modules/@turbo/gen/dist/cli.js"),
        "run",
        "enrichment",
        "--args",
        "sample-ip",
        "ip",
        "--root",
        scratch,
      ],
      { cwd: scratch },
    );
    await expect(again).rejects.toMatchObject({
      stderr: expect.stringContaining("packages/enrich-sample-ip exists already"),
    });
  }, 180_000);
});
