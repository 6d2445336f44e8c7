import type { CliIo } from "./cli-io.js";
import { decisionsCommand } from "./decisions-command.js";
import type { CliEnv } from "./env.js";
import { NetworkError } from "./errors/network-error.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_NETWORK, EXIT_OK, EXIT_USAGE } from "./exit-codes.js";
import { explainCommand } from "./explain-command.js";
import { factsCommand } from "./facts-command.js";
import { USAGE } from "./help.js";
import { lookupCommand } from "./lookup-command.js";
import { policyCommand } from "./policy-command.js";
import { sendCommand } from "./send-command.js";
import { signCommand } from "./sign-command.js";
import { statusCommand } from "./status-command.js";
import { warmCommand } from "./warm-command.js";

export {
  EXIT_ATTENTION,
  EXIT_NETWORK,
  EXIT_NOT_FOUND,
  EXIT_OK,
  EXIT_POLICY_FAILED,
  EXIT_USAGE,
} from "./exit-codes.js";

const commands: Record<string, (args: string[], env: CliEnv, io: CliIo) => Promise<number>> = {
  decisions: decisionsCommand,
  explain: explainCommand,
  policy: policyCommand,
  facts: factsCommand,
  lookup: lookupCommand,
  send: sendCommand,
  sign: signCommand,
  status: statusCommand,
  warm: warmCommand,
};

/** Parses argv (without `node` and the script) and runs the command; resolves to the exit code. */
export async function runCli(argv: readonly string[], env: CliEnv, io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  try {
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined)
      throw new UsageError(
        `unknown command "${name}": expected send, sign, policy, decisions, explain, facts, lookup, warm, status or help`,
      );
    return await command(args, env, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`gatehouse: ${error.message}\nRun "gatehouse help" for usage.\n`);
      return EXIT_USAGE;
    }
    if (error instanceof NetworkError) {
      io.stderr(`gatehouse: ${error.message}\n`);
      return EXIT_NETWORK;
    }
    throw error;
  }
}
