import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ENRICHMENT_NAMES } from "@gatehouse/enrichments";
import { policyVersion } from "@gatehouse/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_OK, EXIT_POLICY_FAILED, EXIT_USAGE } from "./cli.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const fixtures = join(repoRoot, "packages/contracts/fixtures/requests");
const fixture = (name: string) => JSON.parse(readFileSync(join(fixtures, `${name}.json`), "utf8"));
const exec = promisify(execFile);

// pre-signup.json is john.doe@acmecorp.com; pre-m2m-token-creation.json is client m2morg_93710427703245914.
const POLICY = `version: 1
unknownTrigger: DENY
triggers:
  PRE_SIGNUP:
    rules:
      - name: watch-free-mail
        shadow: true
        when: { emailDomain: { freeMail: true } }
        outcome: { decision: DENY, reason: domain.free_mail }
      - name: block-disposable
        when: { emailDomain: { disposable: true } }
        outcome: { decision: DENY, reason: domain.disposable, message: Please use your work address. }
      - name: provision-acme
        when: { emailDomain: { in: [acmecorp.com] } }
        outcome:
          decision: ALLOW
          createOrganizationMembership: { organization_id: org_acme, roles: [member] }
    onMiss: { waitMs: 500, afterWait: DENY }
  PRE_SESSION_CREATION:
    default: { decision: ALLOW, teamClaims: true, claims: { plan: pro } }
  PRE_M2M_TOKEN_CREATION:
    rules:
      - name: client-burst
        when: { velocity: { per: client, window: 1m, over: 10 } }
        outcome: { decision: DENY, reason: client.burst }
`;

let dir: string;
let policy: string;
let caseNumber = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-policy-test-"));
  policy = join(dir, "policy.yaml");
  writeFileSync(policy, POLICY);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes one case file (an object is written as JSON, a string as is) and returns its path. */
function writeCase(content: unknown, folder = dir): string {
  caseNumber += 1;
  const file = join(folder, `case-${String(caseNumber).padStart(3, "0")}.json`);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

const policyTest = (...args: string[]) => runCliCollecting(["policy", "test", policy, ...args], testEnv());
const acmeDomain = {
  domain: "acmecorp.com",
  registrable: "acmecorp.com",
  disposable: false,
  freeMail: false,
};

describe("gatehouse policy test", () => {
  it("prints one line per case and exits 0 when every expectation holds", async () => {
    const provisioned = writeCase({
      name: "acme user is provisioned",
      request: fixture("pre-signup"),
      facts: { "email-domain": { ...acmeDomain, mx: "present" } },
      expect: {
        decision: "ALLOW",
        rule: "provision-acme",
        reason: "rule.provision-acme",
        response: { create_organization_membership: { organization_id: "org_acme", roles: ["member"] } },
        shadow: [],
      },
    });
    const claims = writeCase({
      request: fixture("pre-session-creation"),
      team: { user: { claims: { tier: "gold", plan: "free" } } },
      expect: { decision: "ALLOW", rule: "default", response: { claims: { tier: "gold", plan: "pro" } } },
    });
    const { code, stdout, stderr } = await policyTest(provisioned, claims);
    expect(stderr).toBe("");
    expect(code).toBe(EXIT_OK);
    const lines = stdout.split("\n");
    // The version is the one the ingress records in the audit for this file.
    expect(lines[0]).toBe(`policy ${policy} (version ${policyVersion(readFileSync(policy, "utf8"))})`);
    expect(lines[1]).toBe(
      `ok      ${provisioned} "acme user is provisioned"  PRE_SIGNUP  ALLOW  rule=provision-acme  ` +
        `reason=rule.provision-acme  membership={"organization_id":"org_acme","roles":["member"]}`,
    );
    expect(lines[2]).toBe(
      `ok      ${claims}  PRE_SESSION_CREATION  ALLOW  rule=default  reason=policy.default  ` +
        `claims={"tier":"gold","plan":"pro"}`,
    );
    expect(stdout).toMatch(/\n2 cases: 2 passed, 0 failed, 0 invalid\n$/);
  });

  it("marks each unmet expectation and exits 3", async () => {
    const wrong = writeCase({
      request: fixture("pre-signup"),
      facts: { "email-domain": { disposable: true } },
      expect: { decision: "ALLOW", rule: "provision-acme", reason: "domain.disposable" },
    });
    const right = writeCase({
      request: fixture("pre-signup"),
      facts: { "email-domain": { disposable: true } },
      expect: { decision: "DENY", rule: "block-disposable" },
    });
    const { code, stdout } = await policyTest(wrong, right);
    expect(code).toBe(EXIT_POLICY_FAILED);
    expect(stdout).toContain(
      `FAIL    ${wrong}  PRE_SIGNUP  DENY  rule=block-disposable  reason=domain.disposable  ` +
        `message="Please use your work address."\n` +
        `          expected decision "ALLOW", got "DENY"\n` +
        `          expected rule "provision-acme", got "block-disposable"\n`,
    );
    expect(stdout).toContain(`ok      ${right}  PRE_SIGNUP  DENY`);
    expect(stdout).toMatch(/\n2 cases: 1 passed, 1 failed, 0 invalid\n$/);
  });

  it("treats a needed fact the case does not give as not cached: onMiss afterWait DENY decides", async () => {
    const uncached = writeCase({
      request: fixture("pre-signup"),
      expect: { decision: "DENY", rule: "onMiss", reason: "cache.miss", response: null },
    });
    const { code, stdout } = await policyTest(uncached);
    expect(stdout).toContain(
      `ok      ${uncached}  PRE_SIGNUP  DENY  rule=onMiss  reason=cache.miss  missing=email-domain\n`,
    );
    expect(code).toBe(EXIT_OK);
  });

  it("shows a shadow rule that matched, without letting it decide", async () => {
    const freeMail = writeCase({
      request: fixture("pre-signup"),
      facts: { "email-domain": { ...acmeDomain, freeMail: true, mx: "present" } },
      expect: { decision: "ALLOW", rule: "provision-acme", shadow: ["watch-free-mail"] },
    });
    const { code, stdout } = await policyTest(freeMail);
    expect(stdout).toContain(
      "ALLOW  rule=provision-acme  reason=rule.provision-acme  shadow=[watch-free-mail→DENY]",
    );
    expect(code).toBe(EXIT_OK);

    const unexpected = writeCase({
      request: fixture("pre-signup"),
      facts: { "email-domain": { freeMail: true } },
      expect: { decision: "ALLOW", shadow: [] },
    });
    const failed = await policyTest(unexpected);
    expect(failed.stdout).toContain('expected shadow [], got ["watch-free-mail"]');
    expect(failed.code).toBe(EXIT_POLICY_FAILED);
  });

  it("evaluates velocity counts, and notes counts the trigger does not read", async () => {
    const burst = writeCase({
      request: fixture("pre-m2m-token-creation"),
      counts: { "client:60": 11 },
      expect: { decision: "DENY", rule: "client-burst", reason: "client.burst" },
    });
    const wrongWindow = writeCase({
      request: fixture("pre-m2m-token-creation"),
      counts: { "client:600": 11 },
      expect: { decision: "ALLOW", rule: "default" },
    });
    const { code, stdout } = await policyTest(burst, wrongWindow);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(`ok      ${burst}  PRE_M2M_TOKEN_CREATION  DENY  rule=client-burst`);
    expect(stdout).toContain(
      "          note: counts client:600: not read by PRE_M2M_TOKEN_CREATION (it reads client:60)\n",
    );
  });

  it("answers an unknown trigger with the policy's unknownTrigger, and says so", async () => {
    const unknown = writeCase({
      trigger_point: "PRE_LOGOUT",
      interceptor_context: { environment_id: "env_1" },
    });
    const { code, stdout } = await policyTest(unknown);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(
      `-       ${unknown}  PRE_LOGOUT  DENY  rule=unknownTrigger  reason=trigger.unknown\n`,
    );
    expect(stdout).toContain(
      'note: unknown trigger "PRE_LOGOUT": answered with the policy\'s unknownTrigger',
    );
    expect(stdout).toMatch(/1 case: 0 passed, 0 failed, 0 invalid, 1 without expectation\n$/);
  });

  it("reads a directory's *.json files in name order, bare request bodies included", async () => {
    const folder = join(dir, "cases");
    mkdirSync(folder);
    writeFileSync(join(folder, "b-session.json"), JSON.stringify(fixture("pre-session-creation")));
    writeFileSync(join(folder, "a-m2m.json"), JSON.stringify(fixture("pre-m2m-token-creation")));
    writeFileSync(join(folder, "notes.txt"), "not a case");
    const { code, stdout } = await policyTest(folder);
    expect(code).toBe(EXIT_OK);
    const cases = stdout.split("\n").filter((line) => line.startsWith("-"));
    expect(cases.map((line) => line.split(/\s+/)[1])).toEqual([
      join(folder, "a-m2m.json"),
      join(folder, "b-session.json"),
    ]);
  });

  it("reports each invalid case file, still runs the others, and exits 3", async () => {
    const notJson = writeCase("{ not json");
    const badEmail = writeCase({
      request: { ...fixture("pre-signup"), interceptor_context: { user_email: "not an email" } },
    });
    const badFact = writeCase({
      request: fixture("pre-signup"),
      facts: { "email-domain": { disposable: "yes" } },
    });
    const typo = writeCase({ request: fixture("pre-signup"), facts: { email_domain: { disposable: true } } });
    const noRequest = writeCase({ name: "forgot the request", expect: { decision: "DENY" } });
    const good = writeCase({ request: fixture("pre-signup"), expect: { decision: "DENY" } });
    const { code, stdout } = await policyTest(notJson, badEmail, badFact, typo, noRequest, good);
    expect(code).toBe(EXIT_POLICY_FAILED);
    expect(stdout).toMatch(new RegExp(`INVALID ${notJson}\n {10}not a readable JSON file: `));
    expect(stdout).toContain(
      `INVALID ${badEmail}\n          request: interceptor_context.user_email: not an email address\n`,
    );
    expect(stdout).toContain(
      `INVALID ${badFact}\n          facts.email-domain.disposable: Invalid input: expected boolean`,
    );
    expect(stdout).toContain(`INVALID ${typo}\n          facts: Unrecognized key: "email_domain"`);
    expect(stdout).toContain(
      `INVALID ${noRequest} "forgot the request"\n          request: must be an interceptor request body`,
    );
    expect(stdout).toContain(`ok      ${good}  PRE_SIGNUP  DENY`);
    expect(stdout).toMatch(/\n6 cases: 1 passed, 0 failed, 5 invalid\n$/);

    const json = JSON.parse((await policyTest(noRequest, "--json")).stdout);
    expect(json.cases).toEqual([
      {
        file: noRequest,
        name: "forgot the request",
        status: "invalid",
        problems: ["request: must be an interceptor request body (a JSON object)"],
        shadow: [],
        missing: [],
        notes: [],
      },
    ]);
  });

  it("--json prints the report as one object", async () => {
    const denied = writeCase({
      name: "disposable",
      request: fixture("pre-signup"),
      facts: { "email-domain": { disposable: true } },
      expect: { decision: "DENY" },
    });
    const { code, stdout } = await policyTest(denied, join(fixtures, "pre-session-creation.json"), "--json");
    expect(code).toBe(EXIT_OK);
    const output = JSON.parse(stdout);
    expect(output).toMatchObject({ policy, passed: 1, failed: 0, invalid: 0, ran: 1 });
    expect(output.cases[0]).toEqual({
      file: denied,
      name: "disposable",
      status: "pass",
      problems: [],
      trigger: "PRE_SIGNUP",
      answer: { decision: "DENY", error: { message: "Please use your work address." } },
      reason: "domain.disposable",
      decidedBy: "block-disposable",
      shadow: [],
      missing: [],
      notes: [],
    });
    expect(output.cases[1]).toMatchObject({
      status: "ran",
      answer: { response: { claims: { plan: "pro" } } },
    });
  });

  it("exits 2 for an invalid policy file, naming the line and the field", async () => {
    const bad = join(dir, "bad-policy.yaml");
    writeFileSync(bad, POLICY.replace("decision: DENY, reason: domain.disposable", "decision: MAYBE"));
    const { code, stdout, stderr } = await runCliCollecting(
      ["policy", "test", bad, join(fixtures, "pre-signup.json")],
      testEnv(),
    );
    expect(code).toBe(EXIT_USAGE);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `gatehouse: invalid policy ${bad}:\n` +
        "  line 12: triggers.PRE_SIGNUP.rules.1.outcome.decision: Invalid discriminator value. Expected 'ALLOW' | 'DENY'\n",
    );
  });

  it("exits 2 for a fact condition on an enrichment that is not registered, and evaluates one that is", async () => {
    const custom = join(dir, "custom-fact.yaml");
    const factRule = (enrichment: string, field: string) =>
      POLICY.replace(
        "when: { emailDomain: { disposable: true } }",
        `when: { fact: { enrichment: ${enrichment}, field: ${field}, equals: mailinator.com } }`,
      );
    writeFileSync(custom, factRule("no-such-enrichment", "registrable"));
    const refused = await runCliCollecting(
      ["policy", "test", custom, join(fixtures, "pre-signup.json")],
      testEnv(),
    );
    expect(refused.code).toBe(EXIT_USAGE);
    expect(refused.stderr).toBe(
      `gatehouse: invalid policy ${custom}:\n` +
        '  triggers.PRE_SIGNUP, rule "block-disposable": no enrichment named "no-such-enrichment" is registered ' +
        `(registered: ${ENRICHMENT_NAMES.join(", ")})\n`,
    );

    writeFileSync(custom, factRule("email-domain", "registrable"));
    const testCase = writeCase({
      request: { trigger_point: "PRE_SIGNUP", interceptor_context: { user_email: "jo@x.mailinator.com" } },
      facts: { "email-domain": { registrable: "mailinator.com", disposable: false, freeMail: false } },
      expect: { decision: "DENY", rule: "block-disposable" },
    });
    const { code, stdout } = await runCliCollecting(["policy", "test", custom, testCase], testEnv());
    expect(stdout).toContain("1 case: 1 passed, 0 failed, 0 invalid");
    expect(code).toBe(EXIT_OK);
  });

  it.each([
    [["policy"], 'expected the subcommand "test", got none'],
    [["policy", "check"], 'expected the subcommand "test", got "check"'],
    [["policy", "test"], "missing <policy-file>"],
    [["policy", "test", "policy.yaml"], "missing <case…>"],
    [
      ["policy", "test", "policy.yaml", "/nonexistent/cases"],
      "/nonexistent/cases: no such case file or directory",
    ],
    [["policy", "test", "--frobnicate"], "Unknown option '--frobnicate'"],
  ])("exits 2 for %j, naming %s", async (argv, named) => {
    const { code, stderr } = await runCliCollecting(argv, testEnv());
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(named);
  });

  it("exits 2 for a directory without case files", async () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const { code, stderr } = await policyTest(empty);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(`${empty}: no *.json case files in this directory`);
  });

  it("runs through bin/gatehouse.mjs: the exit code is the process's", async () => {
    const failing = writeCase({ request: fixture("pre-signup"), expect: { decision: "ALLOW" } });
    const running = exec(
      process.execPath,
      ["apps/cli/bin/gatehouse.mjs", "policy", "test", policy, failing],
      {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    await expect(running).rejects.toMatchObject({ code: EXIT_POLICY_FAILED });
    await running.catch((error: { stdout: string }) => {
      expect(error.stdout).toContain(`FAIL    ${failing}  PRE_SIGNUP  DENY  rule=onMiss  reason=cache.miss`);
    });
  });
});
