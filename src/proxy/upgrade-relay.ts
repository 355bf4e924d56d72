// The two endings of a proxied HTTP/1.1 Upgrade, shared by the API pipeline and the dashboard
// proxy: the upstream switched protocols (relay its 101, then splice the two sockets byte for
// byte), or it refused to (relay its answer, body included, and close).
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream";
import { clientResponseHeaders } from "./headers.ts";

/** Relays the upstream's 101 and joins the sockets; `onClose` runs once when either side ends. */
export function spliceUpgrade(
  upstreamRes: IncomingMessage,
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

/** Relays an upstream's refusal to switch (e.g. 403) with its body, then closes the connection. */
export function relayRefusedUpgrade(upstreamRes: IncomingMessage, socket: Duplex): void {
  const lines = [`HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage ?? ""}`];
  const headers = clientResponseHeaders(upstreamRes.rawHeaders);
  for (const [name, values] of Object.entries(headers)) for (const v of values) lines.push(`${name}: ${v}`);
  lines.push("connection: close");
  const chunks: Buffer[] = [];
  upstreamRes.on("data", (c: Buffer) => chunks.push(c));
  upstreamRes.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!headers["content-length"]) lines.push(`content-length: ${body.length}`);
    socket.end(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), body]));
  });
}
