import type { TriggerPoint } from "@gatehouse/contracts";
import { parseSecrets, SignatureConfigError, sign } from "@gatehouse/signature";
import { buildRequestBody, type RequestBody } from "./build-request.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { parseTrigger } from "./interceptor-route.js";
import { readTextFile } from "./read-text-file.js";

/** The flags `send` and `sign` share: where, with which secret, and what goes into the body. */
export const requestOptions = {
  url: { type: "string" },
  secret: { type: "string" },
  email: { type: "string" },
  ip: { type: "string" },
  org: { type: "string" },
  user: { type: "string" },
  client: { type: "string" },
  body: { type: "string" },
  json: { type: "boolean" },
  tamper: { type: "boolean" },
  stale: { type: "boolean" },
} as const;

export interface RequestFlags {
  url?: string | undefined;
  secret?: string | undefined;
  email?: string | undefined;
  ip?: string | undefined;
  org?: string | undefined;
  user?: string | undefined;
  client?: string | undefined;
  body?: string | undefined;
  tamper?: boolean | undefined;
  stale?: boolean | undefined;
}

export interface ResolvedRequest {
  trigger: TriggerPoint;
  url: string;
  secret: string;
  body: RequestBody;
  tamper: boolean;
  stale: boolean;
}

function readBodyFile(path: string): RequestBody {
  const text = readTextFile(path, `--body ${path}`, "--body");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--body ${path}: not valid JSON (${(error as Error).message})`, "--body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`--body ${path}: the body must be a JSON object`, "--body");
  }
  return value as RequestBody;
}

function checkUrl(value: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `${setting}: "${value}" is not a URL (expected e.g. http://127.0.0.1:8080)`,
      setting,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${setting}: "${value}" must be an http:// or https:// URL`, setting);
  }
  return value;
}

/** The first secret of `--secret` (which may hold a rotation list, like the variable) or of the environment. */
function resolveSecret(flag: string | undefined, env: CliEnv): string {
  const setting = flag === undefined ? "SCALEKIT_INTERCEPTOR_SECRET" : "--secret";
  const secret = flag === undefined ? env.secrets[0] : parseSecrets(flag)[0];
  if (secret === undefined) {
    throw new UsageError(
      "no secret: pass --secret whsec_... or set SCALEKIT_INTERCEPTOR_SECRET (the one the ingress uses)",
      "--secret",
    );
  }
  try {
    sign({ secret, id: "msg_check", timestamp: 0, body: "" });
  } catch (error) {
    if (error instanceof SignatureConfigError) throw new UsageError(`${setting}: ${error.message}`, setting);
    throw error;
  }
  return secret;
}

/** Flags, positionals and environment → everything needed to sign a request. Throws {@link UsageError}. */
export function resolveRequest(flags: RequestFlags, positionals: string[], env: CliEnv): ResolvedRequest {
  const [triggerArg, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const base = flags.body === undefined ? undefined : readBodyFile(flags.body);

  let trigger: TriggerPoint;
  if (triggerArg !== undefined) {
    trigger = parseTrigger(triggerArg);
  } else if (typeof base?.trigger_point === "string") {
    trigger = parseTrigger(base.trigger_point);
  } else {
    throw new UsageError("missing <trigger>: e.g. gatehouse send pre-signup", "<trigger>");
  }

  const secret = resolveSecret(flags.secret, env);

  const url = flags.url === undefined ? env.defaultUrl : checkUrl(flags.url, "--url");
  const body = buildRequestBody(
    trigger,
    { email: flags.email, ip: flags.ip, org: flags.org, user: flags.user, client: flags.client },
    { base },
  );
  return { trigger, url, secret, body, tamper: flags.tamper ?? false, stale: flags.stale ?? false };
}
