import { DEFAULT_TOLERANCE_SECONDS } from "@gatehouse/signature";
import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import type { CliEnv } from "./env.js";
import { formatCurl } from "./print.js";
import { requestOptions, resolveRequest } from "./request-flags.js";
import { prepareSignedRequest } from "./signed-request.js";

/** `gatehouse sign <trigger> [flags]`: the curl command on stdout, so `$(gatehouse sign …)` stays clean. */
export async function signCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(args, requestOptions, io);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const request = prepareSignedRequest(resolveRequest(values, positionals, env));
  const curl = formatCurl(request);
  if (values.json) {
    io.stdout(`${JSON.stringify({ ...request, curl })}\n`);
  } else {
    io.stdout(curl);
  }
  if (!values.stale) {
    const expires = new Date((request.timestamp + DEFAULT_TOLERANCE_SECONDS) * 1000).toISOString();
    io.stderr(
      `# the ingress accepts this signature for ${DEFAULT_TOLERANCE_SECONDS / 60} minutes: until ${expires}\n`,
    );
  }
  return 0;
}
