import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./child-process.js";

/** The deployable artifacts, as production runs them (`npm test` and `npm run bench` build them first). */
export const INGRESS = "apps/ingress/dist/server.js";
export const WORKER = "apps/worker/dist/main.js";

export function assertBuilt(): void {
  for (const entry of [INGRESS, WORKER]) {
    if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} is missing: run npm run build first`);
  }
}
