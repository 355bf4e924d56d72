// The Node floor: a minimal, straightforward Node.js TLS reverse proxy, run as its own process.
// Node's own HTTPS server and HTTPS client with a keep-alive agent, headers copied as they are,
// the body relayed with the same three listeners the gateway uses, and nothing else: no
// authentication, no impersonation headers, no logging, no metrics. What the gateway spends
// above this is its own work; what this spends above nginx is mostly Node's (its TLS and HTTP
// layers in JavaScript). Not a proven lower bound: raw headers or an HTTP/2 upstream could shave
// a little more.
// Usage: node bench/lib/node-floor-proxy.ts <cert.pem> <key.pem> <ca.pem> <upstream-url>;
// prints "listening <port>".
import { readFileSync } from "node:fs";
import { Agent, createServer, request } from "node:https";

const [certFile, keyFile, caFile, upstreamUrl] = process.argv.slice(2);
if (!certFile || !keyFile || !caFile || !upstreamUrl) {
  throw new Error("usage: node-floor-proxy.ts <cert.pem> <key.pem> <ca.pem> <upstream-url>");
}
const upstream = new URL(upstreamUrl);
const agent = new Agent({ keepAlive: true, ca: readFileSync(caFile), maxSockets: 256 });
// Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's own and are not forwarded.
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"]);

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !hopByHop.has(name)) headers[name] = value;
  }
  headers.host = upstream.host;
  const upstreamReq = request(
    { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
    (upstreamRes) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstreamRes.headers)) {
        if (value !== undefined && !hopByHop.has(name)) out[name] = value;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, out);
      upstreamRes.on("data", (chunk: Buffer) => {
        if (!res.write(chunk)) upstreamRes.pause();
      });
      res.on("drain", () => upstreamRes.resume());
      upstreamRes.once("end", () => res.end());
    },
  );
  upstreamReq.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstreamReq);
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
