import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const LOGGER = fileURLToPath(new URL("./logger.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * createLogger writes to stdout (fd 1, through pino's own stream) and takes no destination, so the lines are
 * read from one child process that runs this script with `createLogger` in scope.
 */
const SCRIPT = `
  const { createLogger } = await import(${JSON.stringify(LOGGER)});
  createLogger({ name: "redaction" }).info({
    secret: "whsec_top",
    secrets: ["whsec_a", "whsec_b"],
    SCALEKIT_INTERCEPTOR_SECRET: "whsec_env",
    adminToken: "tok",
    env: { SCALEKIT_INTERCEPTOR_SECRET: "whsec_nested", secret: "whsec_n2", PORT: 8080 },
    headers: { "interceptor-signature": "v1,abc", "interceptor-id": "ic_1" },
    keep: "visible",
  }, "configured");

  const byDefault = createLogger({ name: "default-level" });
  byDefault.debug("hidden");
  byDefault.info("shown");
  createLogger({ name: "debug-level", level: "debug" }).debug("debug shown");
  createLogger({ name: "silent-level", level: "silent" }).fatal("never");

  createLogger({ name: "child" }).child({ secret: "whsec_child" }).warn("from a child");
`;

let lines: Record<string, unknown>[] = [];
beforeAll(() => {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 10_000,
    env: { PATH: process.env.PATH ?? "" },
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  lines = result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
});

const named = (name: string) => lines.filter((line) => line.name === name);

describe("createLogger", () => {
  it("redacts secrets at the top level, one level down and in signature headers; keeps the rest", () => {
    const [line, ...more] = named("redaction");
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      level: 30,
      msg: "configured",
      secret: "[redacted]",
      secrets: "[redacted]",
      SCALEKIT_INTERCEPTOR_SECRET: "[redacted]",
      adminToken: "[redacted]",
      env: { SCALEKIT_INTERCEPTOR_SECRET: "[redacted]", secret: "[redacted]", PORT: 8080 },
      headers: { "interceptor-signature": "[redacted]", "interceptor-id": "ic_1" },
      keep: "visible",
    });
    expect(JSON.stringify(lines)).not.toMatch(/whsec_|v1,abc|"tok"/);
  });

  it("logs at info by default and honours a level", () => {
    expect(named("default-level").map((l) => [l.level, l.msg])).toEqual([[30, "shown"]]);
    expect(named("debug-level").map((l) => [l.level, l.msg])).toEqual([[20, "debug shown"]]);
    expect(named("silent-level")).toEqual([]);
  });

  it("redacts in child loggers' bindings too", () => {
    expect(named("child")).toEqual([
      expect.objectContaining({ secret: "[redacted]", msg: "from a child", level: 40 }),
    ]);
  });
});
