import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DockerfileParser, type Instruction, ModifiableInstruction } from "dockerfile-ast";
import { parse, parseAllDocuments } from "yaml";
import { ROOT } from "./child-process.js";

/** The deployment artifacts that test/deploy-*.test.ts read, relative to the repository root. */
export const DOCKERFILE = "infra/docker/Dockerfile";
export const COMPOSE = "infra/compose.yaml";
export const K8S = "infra/k8s";

export const readRepoFile = (path: string) => readFileSync(join(ROOT, path), "utf8");

// ---- Dockerfile ----

export interface DockerInstruction {
  keyword: string;
  /** Arguments as the parser splits them, flags apart (`--from=build` → flags.from). */
  args: string[];
  flags: Record<string, string>;
  /** The arguments' text on one line (continuations joined). */
  text: string;
}

export interface DockerStage {
  name: string;
  /** The image or stage this one starts FROM, variables expanded from the Dockerfile's ARG defaults. */
  base: string;
  instructions: DockerInstruction[];
}

/** The Dockerfile's build stages, in order, parsed by dockerfile-ast (the parser of dockerfile-utils). */
export function dockerStages(text = readRepoFile(DOCKERFILE)): DockerStage[] {
  const dockerfile = DockerfileParser.parse(text);
  const argDefaults = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const [name, value] = (arg.getArgumentsContent() ?? "").split("=", 2);
    if (name && value !== undefined) argDefaults.set(name, value);
  }
  const expand = (value: string) =>
    value.replace(/\$\{(\w+)\}/g, (_, name: string) => argDefaults.get(name) ?? "");
  const stages: DockerStage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === "ARG" && stages.length === 0) continue;
    if (keyword === "FROM") {
      const [image = "", as, name] = words(instruction);
      stages.push({
        name: as?.toUpperCase() === "AS" && name ? name : String(stages.length),
        base: expand(image),
        instructions: [],
      });
      continue;
    }
    const flags =
      instruction instanceof ModifiableInstruction
        ? Object.fromEntries(instruction.getFlags().map((flag) => [flag.getName(), flag.getValue() ?? ""]))
        : {};
    stages
      .at(-1)
      ?.instructions.push({ keyword, args: words(instruction), flags, text: oneLine(instruction) });
  }
  return stages;
}

const words = (instruction: Instruction) => instruction.getArguments().map((argument) => argument.getValue());
const oneLine = (instruction: Instruction) => words(instruction).join(" ");

/** A target and the stages it builds on, base first (stops at an image that is not a stage). */
export function stageChain(stages: DockerStage[], target: string): DockerStage[] {
  const chain: DockerStage[] = [];
  for (let stage = stages.find((s) => s.name === target); stage; ) {
    chain.unshift(stage);
    const base = stage.base;
    stage = stages.find((s) => s.name === base);
  }
  if (chain.length === 0) throw new Error(`no stage ${target} in ${DOCKERFILE}`);
  return chain;
}

/** The exec-form command of a CMD or of a HEALTHCHECK's CMD. */
export function execForm(instruction: DockerInstruction): string[] {
  const json = instruction.text.slice(instruction.text.indexOf("["));
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw new Error(`${instruction.keyword} is not in exec form: ${instruction.text}`);
  }
  return parsed;
}

/** The last instruction with this keyword along a target's chain (what the image ends up with). */
export function lastOf(chain: DockerStage[], keyword: string): DockerInstruction | undefined {
  return chain.flatMap((stage) => stage.instructions.filter((i) => i.keyword === keyword)).at(-1);
}

/** `ENV NAME=value` pairs along a target's chain. */
export function imageEnv(chain: DockerStage[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of chain.flatMap((stage) => stage.instructions)) {
    if (instruction.keyword !== "ENV") continue;
    for (const pair of instruction.args) {
      const at = pair.indexOf("=");
      if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return env;
}

// ---- npm ----

/**
 * The production dependency closure of some workspaces, as `npm ls --omit=dev --all --parseable` computes it
 * from the lock file: paths relative to the root, e.g. `node_modules/fastify`, `node_modules/ajv/node_modules/fast-uri`.
 * `npm install --omit=dev --workspace=…` in a clean tree installs exactly these (checked by hand: docs/deploy.md).
 */
export function productionClosure(workspaces: string[]): string[] {
  const out = execFileSync(
    "npm",
    ["ls", "--omit=dev", "--all", "--parseable", ...workspaces.map((w) => `--workspace=${w}`)],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .split("\n")
    .filter((line) => line.startsWith(ROOT))
    .map((line) => line.slice(ROOT.length).replace(/^\/+/, ""))
    .filter((path) => path.startsWith("node_modules/"));
}

// ---- YAML ----

/** A Kubernetes object as read from infra/k8s. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: unknown[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port?: number | string } };
  livenessProbe?: { httpGet?: { path: string; port?: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
  terminationGracePeriodSeconds?: number;
}

export function podSpec(deployment: K8sObject): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}
export function podLabels(deployment: K8sObject): Record<string, string> {
  return (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
    .labels;
}
export function deploymentNamed(documents: { object: K8sObject }[], name: string): K8sObject {
  const found = documents.find((d) => d.object.kind === "Deployment" && d.object.metadata.name === name);
  if (!found) throw new Error(`no Deployment ${name} in infra/k8s`);
  return found.object;
}

export interface K8sDocument {
  file: string;
  object: K8sObject;
}

/** The manifests kustomization.yaml lists, in order. */
export function kustomization(): { resources: string[]; images: { name: string; newTag?: string }[] } {
  return parse(readRepoFile(`${K8S}/kustomization.yaml`));
}

/** Every object of every manifest in infra/k8s (kustomization.yaml itself aside). */
export function k8sDocuments(): K8sDocument[] {
  const files = readdirSync(join(ROOT, K8S))
    .filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
    .sort();
  return files.flatMap((file) =>
    parseAllDocuments(readRepoFile(`${K8S}/${file}`)).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      return { file, object: document.toJS() as K8sObject };
    }),
  );
}

/** compose.yaml with its YAML merge keys (`<<: *anchor`) resolved, as Compose reads it. */
export function composeFile(): Record<string, unknown> & { services: Record<string, ComposeService> } {
  return parse(readRepoFile(COMPOSE), { merge: true });
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
  [key: string]: unknown;
}

/** Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}` interpolation, from `env`. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const set = env[name];
    if (set !== undefined && set !== "") return set;
    if (op === "-") return arg ?? "";
    throw new Error(`${name} is unset${op === "?" ? `: ${arg}` : ""}`);
  });
}
