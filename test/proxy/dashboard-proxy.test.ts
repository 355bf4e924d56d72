// The dashboard proxy's header policy against a real server behind it that records what
// arrives: the same policy as towards the API server (src/proxy/headers.ts), so no identity a
// client claims (X-Auth-Request-*, X-Forwarded-User, Remote-User, X-Remote-*, Impersonate-*),
// no hop-by-hop header nor one that Connection names, and only the gateway's own
// Authorization, X-Forwarded-* and the dashboard's own cookies. The client writes raw HTTP/1.1
// so that any header at all can be sent.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { DashboardProxy } from "../../src/proxy/dashboard-proxy.ts";

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
};
const stop = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Sends `head` (request line and headers, CRLF-separated, no final blank line) and reads to the end. */
const raw = (port: number, head: string[]) =>
  new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${head.join("\r\n")}\r\n\r\n`));
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
    });
    socket.on("end", () => resolve(data));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });

// What a client trying to pass an identity, or smuggle a header through a hop, would send.
const hostile = [
  "Authorization: Bearer client-own-token",
  "Cookie: __Host-kog-session=sealed; dash=1; __Host-kog-login-abc=x",
  "X-Auth-Request-User: admin",
  "X-Auth-Request-Email: admin@example.com",
  "X-Auth-Request-Groups: system:masters",
  "X-Auth-Request-Preferred-Username: admin",
  "X-Auth-Request-Access-Token: forged",
  "X-Forwarded-User: admin",
  "X-Forwarded-Email: admin@example.com",
  "X-Forwarded-Groups: system:masters",
  "X-Forwarded-Preferred-Username: admin",
  "X-Forwarded-Access-Token: forged",
  "X-Forwarded-For: 6.6.6.6",
  "X-Forwarded-Host: evil.example",
  "X-Real-IP: 6.6.6.6",
  "Forwarded: for=6.6.6.6",
  "Remote-User: admin",
  "Remote-Groups: system:masters",
  "X-Remote-User: admin",
  "X-Remote-Group: system:masters",
  "X-Remote-Extra-Scopes: all",
  "Impersonate-User: admin",
  "Impersonate-Group: system:masters",
  "Proxy-Authorization: Basic Zm9vOmJhcg==",
  "Keep-Alive: timeout=5",
  "TE: trailers",
  "X-Custom-Hop: 1",
  "X-Dashboard-Setting: kept",
  "Accept: text/html",
];
const mustNotArrive = [
  "x-auth-request-user",
  "x-auth-request-email",
  "x-auth-request-groups",
  "x-auth-request-preferred-username",
  "x-auth-request-access-token",
  "x-forwarded-user",
  "x-forwarded-email",
  "x-forwarded-groups",
  "x-forwarded-preferred-username",
  "x-forwarded-access-token",
  "x-real-ip",
  "forwarded",
  "remote-user",
  "remote-groups",
  "x-remote-user",
  "x-remote-group",
  "x-remote-extra-scopes",
  "impersonate-user",
  "impersonate-group",
  "proxy-authorization",
  "keep-alive",
  "te",
  "x-custom-hop",
];

describe("dashboard proxy headers (a real server behind it records what arrives)", () => {
  const received: { kind: string; headers: IncomingHttpHeaders }[] = [];
  let dashboard: Server;
  let front: Server;
  let proxy: DashboardProxy;
  let port: number;

  before(async () => {
    dashboard = createServer((req, res) => {
      received.push({ kind: "request", headers: req.headers });
      if (req.url === "/relays-401") {
        // What Headlamp does with the API's 401: relays it, Set-Cookie included, and sets its own.
        res.writeHead(401, {
          "content-type": "application/json",
          connection: "close",
          "set-cookie": [
            "__Host-kog-session=; Path=/; Max-Age=0; Secure; HttpOnly",
            "__HOST-kog-session=x; Path=/; Secure",
            "__Host-kog-login-abc=; Max-Age=0",
            "headlamp-auth=kept; Path=/",
          ],
        });
        res.end("{}");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain", connection: "close" });
      res.end("dashboard\n");
    });
    dashboard.on("upgrade", (req, socket) => {
      received.push({ kind: "upgrade", headers: req.headers });
      if (req.url === "/refused-socket") {
        socket.end(
          "HTTP/1.1 403 Forbidden\r\nSet-Cookie: __Host-kog-session=; Max-Age=0\r\nSet-Cookie: dash=2\r\nContent-Length: 0\r\n\r\n",
        );
        return;
      }
      socket.end("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    });
    proxy = new DashboardProxy({
      url: `http://127.0.0.1:${await listen(dashboard)}`,
      isGatewayCookie: (name) => name.startsWith("__Host-kog-"),
    });
    front = createServer((req, res) => proxy.handleRequest(req, res, "session-token"));
    front.on("upgrade", (req, socket, head) => proxy.handleUpgrade(req, socket, head, "session-token"));
    port = await listen(front);
  });
  after(async () => {
    proxy.close();
    await stop(front);
    await stop(dashboard);
  });

  const check = (headers: IncomingHttpHeaders) => {
    for (const name of mustNotArrive) assert.equal(headers[name], undefined, `${name} reached the dashboard`);
    assert.equal(headers.authorization, "Bearer session-token");
    assert.equal(headers.cookie, "dash=1", "only the dashboard's own cookies");
    assert.equal(headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(headers["x-forwarded-host"], "gateway.example");
    assert.equal(headers["x-forwarded-proto"], "https");
    assert.equal(headers["x-dashboard-setting"], "kept");
    assert.equal(headers.accept, "text/html");
  };

  it("passes no client-claimed identity, impersonation or Connection-named header to the dashboard", async () => {
    const answer = await raw(port, [
      "GET /page HTTP/1.1",
      "Host: gateway.example",
      "Connection: close, X-Custom-Hop",
      ...hostile,
    ]);
    assert.match(answer, /^HTTP\/1\.1 200/);
    const arrived = received.at(-1);
    assert.equal(arrived?.kind, "request");
    check(arrived?.headers ?? {});
  });

  it("applies the same policy to the dashboard's WebSocket upgrades", async () => {
    const answer = await raw(port, [
      "GET /socket HTTP/1.1",
      "Host: gateway.example",
      "Connection: Upgrade, X-Custom-Hop",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      ...hostile,
    ]);
    assert.match(answer, /^HTTP\/1\.1 101/);
    const arrived = received.at(-1);
    assert.equal(arrived?.kind, "upgrade");
    check(arrived?.headers ?? {});
    assert.equal(arrived?.headers.upgrade, "websocket");
    assert.equal(arrived?.headers["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
  });

  it("lets the dashboard neither set nor clear the gateway's cookies (the relayed 401 that looped Headlamp's logins)", async () => {
    const answer = await raw(port, ["GET /relays-401 HTTP/1.1", "Host: gateway.example", "Connection: close"]);
    assert.match(answer, /^HTTP\/1\.1 401/);
    const setCookies = answer
      .split("\r\n")
      .filter((line) => /^set-cookie:/i.test(line))
      .map((line) => line.slice(line.indexOf(":") + 1).trim());
    assert.deepEqual(setCookies, ["headlamp-auth=kept; Path=/"]);
  });

  it("nor through a refused WebSocket upgrade", async () => {
    const answer = await raw(port, [
      "GET /refused-socket HTTP/1.1",
      "Host: gateway.example",
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ]);
    assert.match(answer, /^HTTP\/1\.1 403/);
    assert.doesNotMatch(answer, /kog-session/i);
    assert.match(answer, /set-cookie: dash=2/i);
  });
});
