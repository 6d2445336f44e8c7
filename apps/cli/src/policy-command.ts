import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_OK, EXIT_POLICY_FAILED, EXIT_USAGE } from "./exit-codes.js";

/**
 * `gatehouse policy test <policy-file> <case…> [--json]`: evaluates a policy offline against request and
 * case files, as the ingress would, and prints each decision. Exit 0 when every case ran and met its
 * expectation, 3 otherwise, 2 for a bad command line or policy file.
 */
export async function policyCommand(args: string[], _env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(args, { json: { type: "boolean" } }, io);
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const [subcommand, policyFile, ...cases] = positionals;
  if (subcommand !== "test") {
    const got = subcommand === undefined ? "none" : `"${subcommand}"`;
    throw new UsageError(`policy: expected the subcommand "test", got ${got}`, "<subcommand>");
  }
  if (policyFile === undefined) throw new UsageError("policy test: missing <policy-file>", "<policy-file>");
  if (cases.length === 0) {
    throw new UsageError("policy test: missing <case…>: JSON files or directories of them", "<case>");
  }
  // Loaded on use: the policy engine and the enrichment registry would slow every other command's start.
  const [{ PolicyError }, { testPolicy }, print] = await Promise.all([
    import("@gatehouse/policy"),
    import("./policy-test.js"),
    import("./policy-test-print.js"),
  ]);
  let report: Awaited<ReturnType<typeof testPolicy>>;
  try {
    report = await testPolicy(policyFile, cases);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    io.stderr(`gatehouse: ${error.message}\n`);
    return EXIT_USAGE;
  }
  io.stdout(values.json ? print.formatPolicyTestJson(report) : print.formatPolicyTest(report));
  return report.failed + report.invalid > 0 ? EXIT_POLICY_FAILED : EXIT_OK;
}
