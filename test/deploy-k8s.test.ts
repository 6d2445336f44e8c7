import { readdirSync } from "node:fs";
import { join } from "node:path";
import { policySchema } from "@gatehouse/policy";
import { Ajv, type ValidateFunction } from "ajv";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ROOT } from "./support/child-process.js";
import {
  deploymentNamed,
  K8S,
  type K8sObject,
  k8sDocuments,
  kustomization,
  podLabels,
  podSpec,
  readRepoFile,
} from "./support/deploy-files.js";

// infra/k8s validated against the schemas of the exact kinds it uses, not merely parsed as YAML:
// - built-in kinds: kubernetes-models' validators, compiled from the Kubernetes OpenAPI schema of each kind
//   (types, required fields, enums, formats, int-or-string); and, since those let unknown fields through,
//   TypeScript's excess-property check against the same package's generated interfaces (a misspelt field
//   fails, as `kubectl apply --validate=strict` would);
// - KEDA's kinds: the openAPIV3Schema of KEDA's own CRDs (infra/schemas/keda, v2.20.2), with unknown fields
//   rejected where the CRD does not preserve them (what the API server's pruning would silently drop).

/** Built-in kinds: kubernetes-models' module and the interface name, per apiVersion/kind. */
const BUILT_IN: Record<string, { module: string; type: string }> = {
  "apps/v1/Deployment": { module: "kubernetes-models/apps/v1/Deployment", type: "IDeployment" },
  "v1/Service": { module: "kubernetes-models/v1/Service", type: "IService" },
  "v1/ConfigMap": { module: "kubernetes-models/v1/ConfigMap", type: "IConfigMap" },
  "v1/Secret": { module: "kubernetes-models/v1/Secret", type: "ISecret" },
  "autoscaling/v2/HorizontalPodAutoscaler": {
    module: "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
    type: "IHorizontalPodAutoscaler",
  },
  "policy/v1/PodDisruptionBudget": {
    module: "kubernetes-models/policy/v1/PodDisruptionBudget",
    type: "IPodDisruptionBudget",
  },
};
const KEDA_CRDS: Record<string, string> = {
  "keda.sh/v1alpha1/ScaledObject": "infra/schemas/keda/keda.sh_scaledobjects.yaml",
  "keda.sh/v1alpha1/TriggerAuthentication": "infra/schemas/keda/keda.sh_triggerauthentications.yaml",
};
const kindOf = (object: K8sObject) => `${object.apiVersion}/${object.kind}`;

async function schemaErrors(object: K8sObject): Promise<string[]> {
  const builtIn = BUILT_IN[kindOf(object)];
  if (builtIn) {
    const module = (await import(builtIn.module)) as Record<
      string,
      new (
        data: unknown,
      ) => { validate(): void }
    >;
    const Model = module[object.kind];
    if (!Model) throw new Error(`${builtIn.module} has no ${object.kind}`);
    try {
      new Model(object).validate();
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  }
  const crd = KEDA_CRDS[kindOf(object)];
  if (crd) {
    const validate = kedaValidator(crd);
    return validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  }
  return [`no schema for ${kindOf(object)}: add it to test/deploy-k8s.test.ts`];
}

const kedaValidators = new Map<string, ValidateFunction>();
function kedaValidator(file: string): ValidateFunction {
  const cached = kedaValidators.get(file);
  if (cached) return cached;
  const crd = parseYaml(readRepoFile(file)) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  const schema = crd.spec.versions.find((v) => v.name === "v1alpha1")?.schema.openAPIV3Schema;
  if (!schema) throw new Error(`${file}: no v1alpha1 schema`);
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
    closeObjects(structuredClone(schema)),
  );
  kedaValidators.set(file, validate);
  return validate;
}

/** additionalProperties: false on every object schema with properties that does not keep unknown fields. */
function closeObjects(schema: Record<string, unknown>): Record<string, unknown> {
  for (const value of Object.values(schema)) {
    if (Array.isArray(value)) for (const item of value) if (isObject(item)) closeObjects(item);
    if (isObject(value)) closeObjects(value);
  }
  if (
    isObject(schema.properties) &&
    schema.additionalProperties === undefined &&
    schema["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    // metadata is ObjectMeta, which the CRD leaves open; the API server checks it.
    schema.additionalProperties = false;
  }
  return schema;
}
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** TypeScript's verdict on `const x: IKind = <manifest>` for every built-in object: unknown fields included. */
function excessPropertyErrors(objects: { file: string; object: K8sObject }[]): string[] {
  const builtIns = objects.filter(({ object }) => BUILT_IN[kindOf(object)]);
  const file = join(ROOT, "test", "__k8s-manifests__.ts");
  const source = builtIns
    .map(({ object }, i) => {
      const { module, type } = BUILT_IN[kindOf(object)]!;
      return `import type { ${type} as T${i} } from "${module}";\nexport const m${i}: T${i} = ${JSON.stringify(object)};`;
    })
    .join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : read(name, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const which = builtIns[Math.floor(line / 2)];
    const where = which ? `${which.file} ${kindOf(which.object)} ${which.object.metadata.name}` : "";
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
}

describe("infra/k8s", () => {
  const documents = k8sDocuments();

  it("holds the kinds the deployment needs", () => {
    const kinds = documents.map(({ object }) => `${kindOf(object)} ${object.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "apps/v1/Deployment gatehouse-ingress",
        "v1/Service gatehouse-ingress",
        "autoscaling/v2/HorizontalPodAutoscaler gatehouse-ingress",
        "policy/v1/PodDisruptionBudget gatehouse-ingress",
        "v1/ConfigMap gatehouse-policy",
        "v1/Secret gatehouse",
        "keda.sh/v1alpha1/TriggerAuthentication gatehouse-redis",
      ]),
    );
    expect(kinds.filter((k) => k.startsWith("keda.sh/v1alpha1/ScaledObject")).length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it.each(documents.map((d) => [`${d.file} ${d.object.kind} ${d.object.metadata.name}`, d.object] as const))(
    "%s matches its kind's schema",
    async (_, object) => {
      expect(await schemaErrors(object)).toEqual([]);
    },
  );

  it("no built-in object has a field its kind does not define (TypeScript excess-property check)", () => {
    expect(excessPropertyErrors(documents)).toEqual([]);
  }, 20_000);

  it("the validators reject a wrong type, a missing field and a misspelt field (the checks are not vacuous)", async () => {
    const deployment = documents.find((d) => d.object.kind === "Deployment")!.object;
    const spec = deployment.spec as { replicas: unknown; selector?: unknown; template: unknown };
    expect(await schemaErrors({ ...deployment, spec: { ...spec, replicas: "two" } })).not.toEqual([]);
    expect(await schemaErrors({ ...deployment, spec: { ...spec, selector: undefined } })).not.toEqual([]);
    const misspelt = { ...deployment, spec: { ...spec, replica: 2 } };
    expect(excessPropertyErrors([{ file: "x.yaml", object: misspelt }]).join()).toMatch(/'"?replica"?'/);
    const scaledObject = documents.find((d) => d.object.kind === "ScaledObject")!.object;
    expect(
      await schemaErrors({ ...scaledObject, spec: { ...(scaledObject.spec as object), minReplicas: 1 } }),
    ).not.toEqual([]);
  }, 20_000);

  it("kustomization.yaml lists every manifest, and names both images", () => {
    const files = readdirSync(join(ROOT, K8S)).filter(
      (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
    );
    const { resources, images } = kustomization();
    expect([...resources].sort()).toEqual(files.sort());
    const used = new Set(
      documents.flatMap(({ object }) =>
        object.kind === "Deployment"
          ? podSpec(object).containers.map((c) => c.image.split(":")[0] ?? "")
          : [],
      ),
    );
    expect(new Set(images.map((i) => i.name))).toEqual(used);
  });

  it("the policy ConfigMap is infra/policy/default.yaml, verbatim, and a valid policy", () => {
    const configMap = documents.find(
      (d) => d.object.kind === "ConfigMap" && d.object.metadata.name === "gatehouse-policy",
    );
    const text = (configMap?.object.data as Record<string, string> | undefined)?.["policy.yaml"];
    expect(text, "copy infra/policy/default.yaml into infra/k8s/policy-configmap.yaml").toBe(
      readRepoFile("infra/policy/default.yaml"),
    );
    expect(policySchema.safeParse(parseYaml(text ?? "")).success).toBe(true);
  });

  it("the ingress mounts the policy as a directory (no subPath), so kubelet's updates reach it", () => {
    const ingress = deploymentNamed(documents, "gatehouse-ingress");
    const container = podSpec(ingress).containers[0]!;
    const policyPath = container.env?.find((e) => e.name === "GATEHOUSE_POLICY")?.value ?? "";
    const mount = container.volumeMounts?.find((m) => policyPath.startsWith(`${m.mountPath}/`));
    expect(mount, `a volume mounted above ${policyPath}`).toBeDefined();
    expect(mount?.subPath).toBeUndefined();
    const volume = podSpec(ingress).volumes?.find((v) => v.name === mount?.name);
    expect(volume?.configMap?.name).toBe("gatehouse-policy");
    expect(policyPath.slice((mount?.mountPath.length ?? 0) + 1)).toBe("policy.yaml");
  });

  it("the ingress is probed on /healthz, spread, autoscaled on CPU and covered by a PDB", () => {
    const ingress = deploymentNamed(documents, "gatehouse-ingress");
    const container = podSpec(ingress).containers[0]!;
    // Not /readyz: it says 503 on every replica during a Redis outage, which would leave the Service without
    // endpoints while each replica can still answer with the policy's fallbacks.
    expect(container.readinessProbe?.httpGet?.path).toBe("/healthz");
    expect(container.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(container.resources?.requests?.cpu).toBeDefined();
    const hpa = documents.find((d) => d.object.kind === "HorizontalPodAutoscaler")?.object.spec as {
      scaleTargetRef: { name: string };
      minReplicas: number;
      metrics: { resource?: { name: string } }[];
    };
    expect(hpa.scaleTargetRef.name).toBe("gatehouse-ingress");
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.metrics.map((m) => m.resource?.name)).toEqual(["cpu"]);
    const pdb = documents.find((d) => d.object.kind === "PodDisruptionBudget")?.object.spec as {
      selector: { matchLabels: Record<string, string> };
    };
    expect(pdb.selector.matchLabels).toEqual(podLabels(ingress));
  });
});
