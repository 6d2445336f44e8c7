import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PlopTypes } from "@turbo/gen";

/**
 * What a new enrichment's subject is, the expression of `fromRequest` that finds it in a request's
 * interceptor context (`context`; undefined when the request does not carry it), and what it finds in the
 * generated test's request (`jane@Example.COM.`, 203.0.113.7, usr_1, org_1, m2m_1).
 */
const SUBJECTS = {
  "email-domain": {
    describe: "the domain of the user's email address (lower case)",
    expression:
      'context.user_email == null ? undefined : context.user_email.slice(context.user_email.lastIndexOf("@") + 1).toLowerCase().replace(/\\.$/, "")',
    expected: "example.com",
  },
  email: {
    describe: "the user's email address (lower case)",
    expression: "context.user_email?.toLowerCase()",
    expected: "jane@example.com.",
  },
  ip: {
    describe: "the IP address the request came from",
    expression: "context.ip_address ?? undefined",
    expected: "203.0.113.7",
  },
  user: { describe: "the user's id", expression: "context.user_id ?? undefined", expected: "usr_1" },
  organization: {
    describe: "the organization's id",
    expression: "context.organization_id ?? undefined",
    expected: "org_1",
  },
  client: {
    describe: "the M2M client's id",
    expression: "context.client_id ?? undefined",
    expected: "m2m_1",
  },
} as const;
type SubjectKind = keyof typeof SUBJECTS;

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const constantCase = (name: string) => name.toUpperCase().replaceAll("-", "_");
const pascalCase = (name: string) => name.replace(/(?:^|-)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
/** The worker Deployment that serves a new enrichment's queue: the one that calls the team's services. */
const WORKER_GROUP = "infra/k8s/worker-ip-claims.yaml";
const ALERTS = "infra/prometheus/gatehouse-alerts.yaml";

/**
 * Replaces `anchor`'s first match in `file` (relative to `root`) with what `replace` makes of it; throws
 * naming the file when it is not there (a file a team has reshaped: the step is then theirs to do by hand).
 */
function edit(
  root: string,
  file: string,
  anchor: RegExp,
  replace: (match: string) => string,
  what: string,
): void {
  const path = join(root, file);
  const text = readFileSync(path, "utf8");
  const match = anchor.exec(text);
  if (!match) throw new Error(`${file}: cannot find where to ${what}; do it by hand`);
  writeFileSync(
    path,
    text.slice(0, match.index) + replace(match[0]) + text.slice(match.index + match[0].length),
  );
}

/**
 * What deploying the new enrichment needs: its queue served by a worker Deployment and scaled by KEDA on its
 * wait list, and an alert when no worker runs it (the checks in test/deploy-parity.test.ts and
 * test/deploy-alerts.test.ts).
 */
function deploy(root: string, name: string): string {
  edit(
    root,
    WORKER_GROUP,
    /(name: GATEHOUSE_ENRICHMENTS, value: "[^"]*)"/,
    (m) => `${m.slice(0, -1)},${name}"`,
    `add ${name} to GATEHOUSE_ENRICHMENTS`,
  );
  edit(
    root,
    WORKER_GROUP,
    /(\n {4}- type: redis\n(?: {6}.*\n)+)(?![\s\S]*- type: redis)/,
    (last) =>
      last +
      last
        .replace(
          /listName: "([^"]*):enrich\.[^":]+:wait"/,
          (_, prefix: string) => `listName: "${prefix}:enrich.${name}:wait"`,
        )
        .replace(/^\n/, ""),
    `scale on ${name}'s wait list`,
  );
  edit(
    root,
    ALERTS,
    /( +)- alert: GatehouseNoWorkerFor\w+\n(?:\1 {2}.*\n)+/,
    (rule) => {
      const first = rule.match(/enrichment="([^"]+)"/)?.[1] ?? "";
      const alert = rule.match(/GatehouseNoWorkerFor\w+/)?.[0] ?? "";
      return `${rule.replaceAll(first, name).replace(alert, `GatehouseNoWorkerFor${pascalCase(name)}`)}${rule}`;
    },
    `alert when no worker runs ${name}`,
  );
  return `${WORKER_GROUP} serves and scales its queue; ${ALERTS} alerts when no worker runs it`;
}

/**
 * `npm run gen:enrichment` (or `npm run gen:enrichment -- --args <name> <subject>`; @turbo/gen, Plop
 * underneath): a new enrichment package that asks the team's own HTTP service about a subject of each
 * request, registered in packages/enrichments and deployed. README.md, "Adding an enrichment package".
 */
export default function generator(plop: PlopTypes.NodePlopAPI): void {
  const root = plop.getDestBasePath();
  plop.setGenerator("enrichment", {
    description:
      "a new enrichment package, registered: asks your own HTTP service about a subject of each request",
    prompts: [
      {
        type: "input",
        name: "name",
        message: "Name of the enrichment (kebab-case, e.g. domain-age)",
        validate: (name: string) => {
          if (!NAME.test(name) || name.length > 40)
            return "lower-case letters, digits and single hyphens, starting with a letter, at most 40";
          if (existsSync(join(root, "packages", `enrich-${name}`)))
            return `packages/enrich-${name} exists already`;
          return true;
        },
      },
      {
        type: "list",
        name: "subject",
        message: "What does it look up?",
        choices: Object.entries(SUBJECTS).map(([value, { describe }]) => ({
          name: `${value}: ${describe}`,
          value,
        })),
      },
    ],
    actions: (answers) => {
      const subject = SUBJECTS[answers?.subject as SubjectKind];
      if (!answers || !subject)
        throw new Error(`unknown subject "${answers?.subject}" (known: ${Object.keys(SUBJECTS).join(", ")})`);
      Object.assign(answers, {
        subjectDescription: subject.describe,
        subjectExpression: subject.expression,
        subjectExpected: subject.expected,
      });
      const base = "templates/enrichment";
      const to = "packages/enrich-{{name}}";
      return [
        { type: "add", path: `${to}/package.json`, templateFile: `${base}/package.json.hbs` },
        { type: "add", path: `${to}/tsconfig.json`, templateFile: `${base}/tsconfig.json.hbs` },
        { type: "add", path: `${to}/README.md`, templateFile: `${base}/README.md.hbs` },
        { type: "add", path: `${to}/src/index.ts`, templateFile: `${base}/src/index.ts.hbs` },
        { type: "add", path: `${to}/src/{{name}}.ts`, templateFile: `${base}/src/enrichment.ts.hbs` },
        {
          type: "add",
          path: `${to}/src/{{name}}.test.ts`,
          templateFile: `${base}/src/enrichment.test.ts.hbs`,
        },
        // The registry: one import and one line.
        {
          type: "modify",
          path: "packages/enrichments/src/registry.ts",
          pattern: /(import type \{ AnyEnrichment)/,
          template: 'import { {{camelCase name}} } from "@gatehouse/enrich-{{name}}";\n$1',
        },
        {
          type: "modify",
          path: "packages/enrichments/src/registry.ts",
          pattern: /(export const ENRICHMENTS = \{\n(?:.*\n)*?)(\} as const;)/,
          template: '$1  "{{name}}": {{camelCase name}},\n$2',
        },
        {
          type: "modify",
          path: "packages/enrichments/package.json",
          pattern: /("dependencies": \{\n)/,
          template: '$1    "@gatehouse/enrich-{{name}}": "*",\n',
        },
        () => deploy(root, answers.name),
        // Formatted and its imports sorted as the repository's own code: `npm test` lints every file.
        () => {
          const files = [`packages/enrich-${answers.name}`, "packages/enrichments"];
          execFileSync(join(root, "node_modules/.bin/biome"), ["check", "--write", ...files], {
            cwd: root,
            stdio: "pipe",
          });
          return `formatted ${files.join(", ")}; next: npm install (links the package), then set GATEHOUSE_${constantCase(answers.name)}_URL`;
        },
      ];
    },
  });
}
