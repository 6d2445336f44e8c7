import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TlsFiles } from "./tls-files.js";

/** A real redis-server on loopback, on an ephemeral port, with its own data directory. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the server vanishes without a goodbye. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill or stop). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its sockets open but answers nothing. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** `tls`: it takes TLS connections only, on its port, with this certificate (clients need not present one). */
export async function startRedis(
  options: { port?: number; args?: string[]; tls?: TlsFiles } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-redis-"));
  let child: ChildProcess | undefined;

  const launch = async () => {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory-policy",
        "noeviction",
        ...(options.tls ? tlsArgs(port, options.tls) : []),
        ...(options.args ?? []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          proc.stdout?.off("data", onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.resume();
      proc.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
      proc.once("error", reject);
    });
  };

  const waitExit = (proc: ChildProcess | undefined, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill(signal);
    });

  await launch();
  return {
    port,
    url: `${options.tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    kill: () => waitExit(child, "SIGKILL"),
    restart: launch,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    stop: async () => {
      child?.kill("SIGCONT");
      await waitExit(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function tlsArgs(port: number, tls: TlsFiles): string[] {
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    tls.cert,
    "--tls-key-file",
    tls.key,
  ].concat(["--tls-ca-cert-file", tls.ca, "--tls-auth-clients", "no", "--tls-cluster", "yes"]);
}
