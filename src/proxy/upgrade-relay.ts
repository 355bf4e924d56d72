// The two endings of a proxied HTTP/1.1 Upgrade, shared by the API pipeline and the dashboard
// proxy: the upstream switched protocols (relay its 101, then splice the two sockets byte for
// byte), or it refused to (relay its answer, body included, and close).
import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { pipeline } from "node:stream";
import { clientResponseHeaders } from "./headers.ts";

/**
 * Whether a request asks for one of the two upgrades Kubernetes speaks: WebSocket (RFC 6455) or
 * SPDY/3.1 (kube-apiserver's exec, attach and port-forward: k8s.io/apimachinery pkg/util/httpstream/spdy).
 * Any other Upgrade (h2c, made-up protocols) is not an upgrade here: it is served as an ordinary
 * request, its Upgrade and Connection headers dropped as hop-by-hop, as Go's server treats it.
 */
export function isStreamUpgrade(headers: { readonly connection?: string; readonly upgrade?: string }): boolean {
  const connection = String(headers.connection ?? "").toLowerCase();
  if (!connection.split(",").some((token) => token.trim() === "upgrade")) return false;
  return String(headers.upgrade ?? "")
    .split(",")
    .some((token) => {
      const protocol = token.trim().toLowerCase();
      return protocol === "websocket" || protocol.startsWith("spdy/");
    });
}

/** Relays the upstream's 101 and joins the sockets; `onClose` runs once when either side ends. */
export function spliceUpgrade(
  upstreamRes: { readonly statusMessage?: string; readonly rawHeaders: readonly string[] },
  upstreamSocket: Duplex,
  upstreamHead: Buffer,
  socket: Duplex,
  head: Buffer,
  onClose: () => void = () => {},
): void {
  const lines = [`HTTP/1.1 101 ${upstreamRes.statusMessage || "Switching Protocols"}`];
  for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
    lines.push(`${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}`);
  }
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (upstreamHead.length > 0) socket.write(upstreamHead);
  if (head.length > 0) upstreamSocket.write(head);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    onClose();
  };
  // Node's HTTP server and client leave their own listeners on the sockets they hand over after
  // an upgrade; the two pipelines below add two more 'close' listeners to each. That fixed set
  // crosses the leak-warning threshold of 10 without being a leak, so the threshold moves by as much.
  for (const s of [socket, upstreamSocket]) s.setMaxListeners(s.getMaxListeners() + 2);
  upstreamSocket.on("error", () => socket.destroy());
  pipeline(socket, upstreamSocket, close);
  pipeline(upstreamSocket, socket, close);
}

/**
 * The most of a refused upgrade's body relayed. A refusal is a small Status; but an upgrade asked
 * of a streaming endpoint (a watch, a followed log) is answered with the stream itself, which
 * never ends: that answer is relayed up to this bound, then the connection is closed.
 */
export const refusedUpgradeMaxBytes = 1024 * 1024;

/** The parts of a refused upgrade's answer that are relayed. */
export interface UpgradeRefusal {
  readonly status: number;
  readonly statusMessage?: string;
  readonly rawHeaders: readonly string[];
  readonly body: Readable;
}

/**
 * Relays an upstream's refusal to switch (e.g. 403) and closes the connection. The body streams
 * with backpressure (never buffered whole) and is delimited by the close, since the client's
 * socket is raw; it is cut at `maxBytes`. A client that leaves ends the upstream answer.
 */
export function relayRefusedUpgrade(
  refusal: UpgradeRefusal | IncomingMessage,
  socket: Duplex,
  maxBytes = refusedUpgradeMaxBytes,
): void {
  const { status, statusMessage, rawHeaders, body } =
    "body" in refusal
      ? refusal
      : {
          status: refusal.statusCode ?? 502,
          statusMessage: refusal.statusMessage,
          rawHeaders: refusal.rawHeaders,
          body: refusal,
        };
  const headers = clientResponseHeaders(rawHeaders);
  const declared = Number(headers["content-length"]?.[0] ?? Number.NaN);
  delete headers["content-length"];
  const lines = [`HTTP/1.1 ${status} ${statusMessage ?? ""}`];
  for (const [name, values] of Object.entries(headers)) for (const v of values) lines.push(`${name}: ${v}`);
  // A known length within the bound is kept; otherwise the body ends with the connection.
  if (Number.isSafeInteger(declared) && declared >= 0 && declared <= maxBytes)
    lines.push(`content-length: ${declared}`);
  lines.push("connection: close");
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  let sent = 0;
  const onClientGone = () => body.destroy();
  socket.once("close", onClientGone);
  body.on("data", (chunk: Buffer) => {
    const room = maxBytes - sent;
    sent += chunk.length;
    if (chunk.length >= room) {
      socket.end(chunk.subarray(0, room));
      body.destroy();
      return;
    }
    if (!socket.write(chunk)) body.pause();
  });
  socket.on("drain", () => body.resume());
  body.once("end", () => socket.end());
  body.once("error", () => socket.destroy());
  body.once("close", () => {
    if (!body.readableEnded && sent < maxBytes) socket.destroy();
  });
}
