// A STAND-IN for the Kubernetes API server, used only where the real one cannot serve the
// case here: exec/attach/port-forward need a kubelet and a container runtime, which the test
// bed does not have. It answers upgrades the way kube-apiserver hands them on (SPDY/3.1 or a
// WebSocket with a v5.channel.k8s.io subprotocol) and echoes every byte, records the headers it
// received, and can be told to be slow or to refuse.
import type { IncomingHttpHeaders } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import type { KeyPairPem } from "../../testbed/ca.ts";

export interface StandInUpstream {
  readonly url: string;
  /** Headers of every request and upgrade received, in order. */
  readonly received: { url: string; headers: IncomingHttpHeaders; rawHeaders: string[] }[];
  close(): Promise<void>;
}

export async function startStandInUpstream(tls: KeyPairPem): Promise<StandInUpstream> {
  const received: StandInUpstream["received"] = [];
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => [...protocols].find((p) => p.endsWith(".channel.k8s.io")) ?? false,
  });
  wss.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
  const server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    received.push({ url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders });
    if (req.url?.startsWith("/slow")) return; // never answers
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", status: "Success" }));
  });
  const held = new Set<import("node:stream").Duplex>();
  server.on("upgrade", (req, socket, head) => {
    received.push({ url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders });
    if (req.url?.startsWith("/slow")) {
      // never answers; ended when the gateway gives up or the stand-in closes
      held.add(socket);
      socket.once("close", () => held.delete(socket));
      return;
    }
    if (req.url?.startsWith("/forbidden")) {
      const body =
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"stand-in refuses","reason":"Forbidden","code":403}\n';
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    if (String(req.headers.upgrade).toLowerCase() === "websocket") {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
      return;
    }
    // SPDY/3.1 as kube-apiserver switches for kubectl's SPDY executor; then echo raw bytes.
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
    );
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const socket of held) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
