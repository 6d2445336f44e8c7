import { createSocket } from "node:dgram";

/**
 * How the stub answers a name: MX records, A records (IPv4 addresses, e.g. a DNSBL's 127.0.0.2), an error
 * rcode (2 SERVFAIL, 3 NXDOMAIN), or not at all.
 */
export type StubAnswer =
  | { readonly mx: readonly (readonly [number, string])[] }
  | { readonly a: readonly string[] }
  | { readonly rcode: number }
  | "silent";

/** Answers by name, as a table or a function; a name without an answer gets NXDOMAIN. */
export type StubAnswers = Readonly<Record<string, StubAnswer>> | ((name: string) => StubAnswer | undefined);

export interface StubDnsServer {
  /** `127.0.0.1:<port>`, as `Resolver.setServers` takes it. */
  readonly address: string;
  /** How many names were asked for. */
  readonly queryCount: () => number;
  /** The names asked for, in order (the first 10,000). */
  readonly queries: readonly string[];
  /** Every answer is sent this much later; may be changed while the server runs. Default: 0. */
  delayMs: number;
  close(): Promise<void>;
}

/** A minimal UDP DNS responder for tests and benchmarks: answers every query from `answers`. */
export async function startStubDnsServer(
  answers: StubAnswers,
  options: { delayMs?: number } = {},
): Promise<StubDnsServer> {
  const socket = createSocket("udp4");
  const queries: string[] = [];
  let count = 0;
  const lookup = typeof answers === "function" ? answers : (name: string) => answers[name];
  const server: StubDnsServer = {
    address: "",
    queryCount: () => count,
    queries,
    delayMs: options.delayMs ?? 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (query, peer) => {
    const question = readQuestion(query);
    if (question === undefined) return;
    count++;
    if (queries.length < 10_000) queries.push(question.name);
    const answer = lookup(question.name) ?? { rcode: 3 };
    if (answer === "silent") return;
    const reply = () => socket.send(respond(query, question.end, answer), peer.port, peer.address);
    if (server.delayMs > 0) setTimeout(reply, server.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return Object.assign(server, { address: `127.0.0.1:${socket.address().port}` });
}

function readQuestion(query: Buffer): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let offset = 12;
  while (offset < query.length) {
    const length = query[offset] ?? 0;
    offset += 1;
    // The name's end, then QTYPE and QCLASS.
    if (length === 0) return { name: labels.join(".").toLowerCase(), end: offset + 4 };
    labels.push(query.toString("latin1", offset, offset + length));
    offset += length;
  }
  return undefined;
}

function encodeName(name: string): Buffer {
  const labels = name === "" ? [] : name.split(".");
  return Buffer.concat([
    ...labels.map((label) => Buffer.from([label.length, ...Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

function respond(query: Buffer, questionEnd: number, answer: Exclude<StubAnswer, "silent">): Buffer {
  const records: [type: number, data: Buffer][] =
    "mx" in answer
      ? answer.mx.map(([preference, exchange]) => [
          15,
          Buffer.concat([Buffer.from([preference >> 8, preference & 0xff]), encodeName(exchange)]),
        ])
      : "a" in answer
        ? answer.a.map((address) => [1, Buffer.from(address.split(".").map(Number))])
        : [];
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  // QR, the query's RD, RA, and the rcode; one question, the records as answers.
  header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | ("rcode" in answer ? answer.rcode : 0), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const resourceRecords = records.map(([type, data]) => {
    const head = Buffer.alloc(12);
    head.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
    head.writeUInt16BE(type, 2);
    head.writeUInt16BE(1, 4); // IN
    head.writeUInt32BE(60, 6);
    head.writeUInt16BE(data.length, 10);
    return Buffer.concat([head, data]);
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...resourceRecords]);
}
