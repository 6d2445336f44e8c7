import { type ParseArgsConfig, parseArgs } from "node:util";
import type { CliIo } from "./cli-io.js";
import { UsageError } from "./errors/usage-error.js";
import { USAGE } from "./help.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
const HELP = { help: { type: "boolean", short: "h" } } as const;

/** Runs `util.parseArgs`, turning its errors ("Unknown option '--x'", "argument missing") into usage errors. */
function parseFlags<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs appends a long hint about "--" to unknown options; the first sentence names the flag.
    throw new UsageError(message.split(". ")[0] ?? message);
  }
}

/**
 * A command's flags and arguments: `util.parseArgs`, strict, positionals allowed, `-h`/`--help` added, its
 * errors as usage errors. Undefined when help was asked for: the usage is printed, the command is done.
 */
export function commandArgs<const O extends Options>(args: string[], options: O, io: CliIo) {
  const parsed = parseFlags(() =>
    parseArgs({ args, options: { ...options, ...HELP }, allowPositionals: true, strict: true }),
  );
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout(USAGE);
    return undefined;
  }
  return parsed;
}
