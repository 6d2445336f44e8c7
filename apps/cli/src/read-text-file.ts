import { readFileSync } from "node:fs";
import { UsageError } from "./errors/usage-error.js";

/**
 * A file's text (UTF-8); `-` is standard input. One that cannot be read is for the user to fix: a {@link UsageError}
 * `<label>: cannot read the file (ENOENT)`, naming `flag` when a flag gave the path.
 */
export function readTextFile(path: string, label = path, flag?: string): string {
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (error) {
    const reason = (error as { code?: string }).code ?? String(error);
    throw new UsageError(`${label}: cannot read the file (${reason})`, flag);
  }
}
