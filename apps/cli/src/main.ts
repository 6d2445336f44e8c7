// Entry point of the `gatehouse` command: read the environment once, dispatch, set the exit code.
import { EXIT_USAGE, runCli } from "./cli.js";
import { readEnv } from "./env.js";

const io = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};

const parsed = readEnv();
if (parsed.ok) {
  process.exitCode = await runCli(process.argv.slice(2), parsed.env, io);
} else {
  io.stderr(`gatehouse: ${parsed.message}\n`);
  process.exitCode = EXIT_USAGE;
}
