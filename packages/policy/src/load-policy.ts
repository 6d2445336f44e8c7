import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isNode, LineCounter, parseDocument } from "yaml";
import { PolicyError } from "./errors/policy-error.js";
import { type Policy, policySchema } from "./policy-schema.js";

/**
 * Parses and validates a policy (YAML, or JSON which is YAML too). Every problem is reported with the
 * line it is on and the field's path; nothing partial is ever returned.
 */
export function parsePolicy(text: string, file = "policy"): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      file,
      doc.errors.map((error) => `line ${error.linePos?.[0].line ?? "?"}: ${error.message.split("\n")[0]}`),
    );
  }
  const result = policySchema.safeParse(doc.toJS());
  if (result.success) return result.data;
  throw new PolicyError(
    file,
    result.error.issues.map((issue) => {
      // Point at the deepest node of the path that exists in the file.
      let line: number | undefined;
      for (let depth = issue.path.length; depth >= 0 && line === undefined; depth--) {
        const node = doc.getIn(issue.path.slice(0, depth) as (string | number)[], true);
        if (isNode(node) && node.range) line = lines.linePos(node.range[0]).line;
      }
      const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
      return `line ${line ?? 1}: ${field}: ${issue.message}`;
    }),
  );
}

/**
 * A policy's version, as the audit records it and `gatehouse explain` / `gatehouse policy test` show it: the
 * first 12 hex digits of the SHA-256 of its text.
 */
export function policyVersion(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** A policy file, validated, with its version. Throws a `PolicyError` naming each bad line and field. */
export async function loadVersionedPolicyFile(path: string): Promise<{ policy: Policy; version: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new PolicyError(path, [`cannot read: ${(error as Error).message}`]);
  }
  return { policy: parsePolicy(text, path), version: policyVersion(text) };
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  return (await loadVersionedPolicyFile(path)).policy;
}
