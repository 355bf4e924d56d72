// Regression tests for the client listener's slow-client bounds, in-process with shortened
// bounds. Each names what was broken before the fix: the slowloris fault test shows the same
// against the real process with the real bounds.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { TlsListener } from "../../src/server/tls-listener.ts";
import { TestCA } from "../../testbed/ca.ts";

const bounds = { handshakeMs: 500, headersMs: 800, http2IdleMs: 600 };

/** Resolves with the ms until the socket closed and what it received. */
function watch(socket: net.Socket): Promise<{ ms: number; received: string }> {
  const started = Date.now();
  let received = "";
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve({ ms: Date.now() - started, received })));
}

describe("client listener: slow clients", { timeout: 30_000 }, () => {
  let ca: TestCA;
  let listener: TlsListener;
  let port: number;

  before(async () => {
    ca = await TestCA.create();
    const pair = await ca.issueLoopbackServer("listener");
    const certFile = join(tmpdir(), `kog-listener-${process.pid}.crt`);
    const keyFile = join(tmpdir(), `kog-listener-${process.pid}.key`);
    await writeFile(certFile, pair.certPem);
    await writeFile(keyFile, pair.keyPem);
    listener = new TlsListener({
      certFile,
      keyFile,
      maxHeaderBytes: 32 * 1024,
      timeouts: bounds,
      onRequest: (_req, res) => res.end("ok"),
      onUpgrade: (_req, socket) => socket.destroy(),
    });
    ({ port } = await listener.listen(0, "127.0.0.1"));
  });
  after(() => {
    listener?.stopAccepting();
    listener?.closeAll();
  });

  it("closes a connection whose TLS handshake timed out (the tlsClientError listener used to leave it open)", async () => {
    const { ms } = await watch(net.connect({ host: "127.0.0.1", port }));
    assert.ok(ms >= bounds.handshakeMs - 50 && ms < bounds.handshakeMs + 1_500, `${ms} ms`);
  });

  it("answers 408 to HTTP/1.1 headers that trickle past the bound (they were never timed out, and 400 was sent)", async () => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: ["http/1.1"] });
    socket.once("secureConnect", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    const timer = setInterval(() => socket.writable && socket.write("a"), 100);
    const { ms, received } = await watch(socket);
    clearInterval(timer);
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /"reason":"Timeout"/);
    assert.ok(ms >= bounds.headersMs - 50 && ms < bounds.headersMs + 2_000, `${ms} ms`);
  });

  it("closes an HTTP/2 connection that never opens a stream (it was held forever)", async () => {
    const { ms } = await watch(tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: ["h2"] }));
    assert.ok(ms >= bounds.headersMs - 50 && ms < bounds.headersMs + 2_500, `${ms} ms`);
  });

  it("closeIdle closes idle HTTP/1.1 keep-alive connections (it did nothing: connections were not tracked)", async () => {
    const agent = new https.Agent({ keepAlive: true, ca: ca.certPem, maxSockets: 1 });
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${port}/`, { agent }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += c.toString();
          });
          res.on("end", () => resolve(text));
        })
        .on("error", reject);
    });
    assert.equal(body, "ok");
    const [socket] = Object.values(agent.freeSockets).flat();
    assert.ok(socket, "a kept-alive connection");
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const started = Date.now();
    listener.closeIdle();
    await closed;
    assert.ok(Date.now() - started < 1_000);
    agent.destroy();
  });
});
