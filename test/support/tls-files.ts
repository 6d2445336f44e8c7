import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate authority and a server certificate it signed for 127.0.0.1 and localhost, as PEM files. */
export interface TlsFiles {
  /** The authority's certificate: what a client trusts (NODE_EXTRA_CA_CERTS). */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Made with openssl in a new temporary folder (scripts/setup.sh installs openssl when it is missing). */
export async function makeTlsFiles(): Promise<TlsFiles> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-tls-"));
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  const key = ["-newkey", "rsa:2048", "-nodes"];
  await openssl(
    "req",
    "-x509",
    ...key,
    "-days",
    "2",
    "-subj",
    "/CN=Gatehouse test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  await openssl("req", ...key, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  await openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "san.ext",
    "-out",
    "server.pem",
  );
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}
