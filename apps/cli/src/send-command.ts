import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { formatSendJson, formatSendResult } from "./print.js";
import { requestOptions, resolveRequest } from "./request-flags.js";
import { DEFAULT_TIMEOUT_MS, sendInterceptorRequest } from "./send-request.js";

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new UsageError(
      `--timeout: expected a positive number of milliseconds, got "${value}"`,
      "--timeout",
    );
  }
  return ms;
}

/** `gatehouse send <trigger> [flags]`. Exit 0 whenever an answer came back; network errors throw. */
export async function sendCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(args, { ...requestOptions, timeout: { type: "string" } }, io);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const timeoutMs = parseTimeout(values.timeout);
  const request = resolveRequest(values, positionals, env);
  const result = await sendInterceptorRequest({ ...request, timeoutMs });
  io.stdout(values.json ? formatSendJson(result) : formatSendResult(result));
  return 0;
}
