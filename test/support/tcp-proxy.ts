import { type AddressInfo, connect, createServer, type Socket } from "node:net";

/** A TCP proxy on loopback in front of one port: the address a load balancer or a Service would give. */
export interface TcpProxy {
  readonly port: number;
  /** The connections dropped so far. */
  readonly dropped: number;
  /** Sends the connections made from now on to `port` (those open stay where they are): a DNS name moved. */
  retarget(port: number): void;
  /**
   * The connections open now carry nothing more either way, and stay open: a host that vanished without a
   * word (no FIN, no RST), as a failed VM's or a moved address' does.
   */
  blackHole(): void;
  /** Ends every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Passes connections through to `targetPort` on loopback, after dropping the first `drop` of them at once
 * (`Infinity`: every one, a node that never answers).
 */
export async function startTcpProxy(targetPort: number, options: { drop?: number } = {}): Promise<TcpProxy> {
  const drop = options.drop ?? 0;
  const sockets = new Set<Socket>();
  const open = new Set<{ holed: boolean }>();
  let dropped = 0;
  let target = targetPort;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // A side that resets ends the other: the proxy itself never fails.
    socket.on("error", () => {});
  };
  const server = createServer((socket) => {
    track(socket);
    if (dropped < drop) {
      dropped++;
      socket.destroy();
      return;
    }
    const upstream = connect(target, "127.0.0.1");
    track(upstream);
    const pair = { holed: false };
    open.add(pair);
    socket.on("data", (chunk) => pair.holed || upstream.write(chunk));
    upstream.on("data", (chunk) => pair.holed || socket.write(chunk));
    socket.once("close", () => {
      open.delete(pair);
      upstream.destroy();
    });
    upstream.once("close", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get dropped() {
      return dropped;
    },
    retarget(port) {
      target = port;
    },
    blackHole() {
      for (const pair of open) pair.holed = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
