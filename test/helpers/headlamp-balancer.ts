// A TCP round-robin balancer on loopback, as a Service's kube-proxy rules spread connections over
// ready pods: each new connection goes to the next backend, skipping one that refuses it (a stopped
// replica). TLS passes through untouched, so the browser and Headlamp talk to the replicas' own
// listeners.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface Balancer {
  readonly port: number;
  /** How many connections each backend port received. */
  readonly counts: Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(backendPorts: readonly number[]): Promise<Balancer> {
  const counts = new Map<number, number>(backendPorts.map((p) => [p, 0]));
  const sockets = new Set<Socket>();
  let next = 0;
  const connect = (client: Socket, attempt: number) => {
    if (attempt >= backendPorts.length) {
      client.destroy();
      return;
    }
    const port = backendPorts[next++ % backendPorts.length] as number;
    const upstream = createConnection({ host: "127.0.0.1", port });
    sockets.add(upstream);
    upstream.once("close", () => sockets.delete(upstream));
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      counts.set(port, (counts.get(port) ?? 0) + 1);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on("error", () => {
      if (!connected) connect(client, attempt + 1);
      else client.destroy();
    });
    client.on("error", () => upstream.destroy());
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      if (connected) client.destroy();
    });
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    connect(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    counts,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
