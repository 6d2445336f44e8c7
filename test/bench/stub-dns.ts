// A UDP DNS responder with a configurable delay: the MX lookups of both the worker and the hand-written
// endpoint go to it, so the comparison runs offline and "the provider is slow" is one setting. (The test
// stub in enrich-email-domain answers at once and has no delay.)
import { createSocket } from "node:dgram";

export interface DelayedDns {
  /** `127.0.0.1:<port>`, as `Resolver.setServers` and GATEHOUSE_DNS_SERVERS take it. */
  readonly address: string;
  delayMs: number;
  readonly queries: () => number;
  close(): Promise<void>;
}

/** Names for which the stub answers MX records; every other name gets NXDOMAIN. */
export type HasMx = (name: string) => boolean;

export async function startDelayedDns(hasMx: HasMx, delayMs: number): Promise<DelayedDns> {
  const socket = createSocket("udp4");
  let queries = 0;
  const server: DelayedDns = {
    address: "",
    delayMs,
    queries: () => queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (query, peer) => {
    const question = readQuestion(query);
    if (!question) return;
    queries++;
    const answer = respond(query, question.end, hasMx(question.name) ? `mx.${question.name}` : undefined);
    const reply = () => socket.send(answer, peer.port, peer.address);
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
    if (length === 0) return { name: labels.join(".").toLowerCase(), end: offset + 4 };
    labels.push(query.toString("latin1", offset, offset + length));
    offset += length;
  }
  return undefined;
}

function encodeName(name: string): Buffer {
  return Buffer.concat([
    ...name.split(".").map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

/** The query's header and question, then one MX record (or NXDOMAIN without records). */
function respond(query: Buffer, questionEnd: number, exchange: string | undefined): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (exchange ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(exchange ? 1 : 0, 6);
  if (!exchange) return Buffer.concat([header, query.subarray(12, questionEnd)]);
  const data = Buffer.concat([Buffer.from([0, 10]), encodeName(exchange)]);
  const record = Buffer.alloc(12);
  record.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
  record.writeUInt16BE(15, 2); // MX
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(300, 6);
  record.writeUInt16BE(data.length, 10);
  return Buffer.concat([header, query.subarray(12, questionEnd), record, data]);
}
