// Builds a deployable app: its TypeScript and every @gatehouse/* workspace package bundled into one ESM
// file under dist/, npm packages left as imports (installed with --omit=dev beside it). Usage, from an
// app's folder: node ../../scripts/bundle.mjs src/server.ts [more entries…]
import { build } from "esbuild";

const workspaceOnly = {
  name: "external-npm-packages",
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@gatehouse/") ? undefined : { path: args.path, external: true },
    );
  },
};

await build({
  entryPoints: process.argv.slice(2),
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  plugins: [workspaceOnly],
  logLevel: "warning",
});
