// Upgrade-stream load generator (own process): opens `streams` HTTP/1.1 Upgrade (SPDY/3.1)
// connections like `kubectl exec` would, then pushes bytes through each and counts the bytes
// echoed back, keeping at most `windowBytes` in flight per stream.
// Input: one JSON argument (UpgradeSpec). Output: one JSON line (UpgradeResult).
import { readFileSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";

export interface UpgradeSpec {
  readonly url: string;
  readonly caFile: string;
  readonly token: string;
  readonly streams: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface UpgradeResult {
  readonly streams: number;
  /** Echoed bytes per second over all streams, in MB/s (10^6 bytes). */
  readonly mbPerSecond: number;
  readonly bytes: number;
}

const chunk = Buffer.alloc(64 * 1024, 0x61);
const windowBytes = 1024 * 1024;

function open(spec: UpgradeSpec): Promise<TLSSocket> {
  const url = new URL(spec.url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      ca: readFileSync(spec.caFile),
      ALPNProtocols: ["http/1.1"],
    });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${spec.token}\r\n` +
          "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
      );
    });
    let head = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const status = head.subarray(0, head.indexOf("\r\n")).toString();
      if (!/ 101 /.test(status)) {
        reject(new Error(`upgrade refused: ${head.toString().slice(0, 300)}`));
        socket.destroy();
        return;
      }
      socket.off("error", reject);
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

async function main(spec: UpgradeSpec): Promise<UpgradeResult> {
  const sockets = await Promise.all(Array.from({ length: spec.streams }, () => open(spec)));
  let measuring = false;
  let bytes = 0;
  for (const socket of sockets) {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < windowBytes && !socket.destroyed) {
        inFlight += chunk.length;
        if (!socket.write(chunk)) break;
      }
    };
    socket.on("drain", pump);
    socket.on("data", (data: Buffer) => {
      inFlight -= data.length;
      if (measuring) bytes += data.length;
      pump();
    });
    socket.on("error", () => {});
    pump();
  }
  await new Promise((r) => setTimeout(r, spec.warmupMs));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, spec.durationMs));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.destroy();
  return { streams: spec.streams, bytes, mbPerSecond: bytes / 1e6 / seconds };
}

if (import.meta.main) {
  main(JSON.parse(process.argv[2] ?? "{}") as UpgradeSpec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
