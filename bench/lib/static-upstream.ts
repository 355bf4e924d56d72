// The stand-in upstream, run as its own process: an HTTPS server that answers every request
// with one fixed small JSON (what is left is the proxy's own cost), and accepts every HTTP/1.1
// Upgrade by echoing the bytes it receives (an exec stream without a kubelet). Like
// kube-apiserver it offers HTTP/2 and HTTP/1.1 (ALPN), so each proxy uses what it would there.
// Usage: node bench/lib/static-upstream.ts <cert.pem> <key.pem>; prints "listening <port>".
import { readFileSync } from "node:fs";
import { createSecureServer } from "node:http2";

const [certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) throw new Error("usage: static-upstream.ts <cert.pem> <key.pem>");

const body = Buffer.from(
  JSON.stringify({
    kind: "ConfigMap",
    apiVersion: "v1",
    metadata: { name: "x", namespace: "default", resourceVersion: "1" },
    data: { key: "value" },
  }),
);

const server = createSecureServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  allowHTTP1: true,
  // What kube-apiserver v1.37 advertises without --http2-max-streams-per-connection (read off
  // the test bed's SETTINGS frame).
  settings: { maxConcurrentStreams: 100 },
});
server.on("request", (req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
});
server.on("upgrade", (req, socket, head) => {
  const protocol = req.headers.upgrade ?? "SPDY/3.1";
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`);
  if (head.length > 0) socket.write(head);
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
