// The HTTP/2 connections to the API server, on the behaviours kube-apiserver cannot be made to
// show on demand: a low SETTINGS_MAX_CONCURRENT_STREAMS, GOAWAY, a refused stream, a connection
// that goes silent, a server without h2. The upstream here is Node's own HTTP/2 server on
// loopback, scripted per test; the proxying itself is tested against the real kube-apiserver
// (test/server/gateway.test.ts and the rest of the suite run over HTTP/2 by default).
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as https from "node:https";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { viaHttp1, viaHttp2 } from "../../src/upstream/exchange.ts";
import { Http2Sessions } from "../../src/upstream/http2-sessions.ts";
import { TestCA } from "../../testbed/ca.ts";

type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

interface ScriptedServer {
  readonly url: URL;
  readonly sessions: Set<http2.ServerHttp2Session>;
  handle: StreamHandler;
  close(): Promise<void>;
}

async function scriptedServer(
  pair: { certPem: string; keyPem: string },
  settings: http2.Settings = {},
): Promise<ScriptedServer> {
  const server = http2.createSecureServer({ cert: pair.certPem, key: pair.keyPem, settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  const scripted: ScriptedServer = {
    url: new URL("https://127.0.0.1"),
    sessions,
    handle: (stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    },
    close: () =>
      new Promise((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {}); // the streams tests reset or refuse on purpose
    scripted.handle(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (scripted.url as URL).port = String((server.address() as net.AddressInfo).port);
  return scripted;
}

/** Sends a GET and reads the answer: status and body. */
async function get(
  sessions: Http2Sessions,
  path: string,
  http1?: () => never,
): Promise<{ status: number; body: string }> {
  const exchange = viaHttp2(
    sessions,
    { method: "GET", path, headers: ["Host", "ignored", "Accept", "application/json"], timeoutMs: 5_000 },
    http1 ??
      (() => {
        throw new Error("unexpected fallback to HTTP/1.1");
      }),
  );
  const response = await exchange.response;
  let body = "";
  for await (const chunk of response.body) body += chunk;
  return { status: response.status, body };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("HTTP/2 connections to the API server", { timeout: 30_000 }, () => {
  let ca: TestCA;
  let pair: { certPem: string; keyPem: string };
  before(async () => {
    ca = await TestCA.create();
    pair = await ca.issueLoopbackServer("upstream");
  });

  it("multiplexes requests over one connection and sends headers as given, Host as :authority", async () => {
    const server = await scriptedServer(pair);
    const seen: http2.IncomingHttpHeaders[] = [];
    server.handle = (stream, headers) => {
      seen.push(headers);
      stream.respond([":status", "200", "warning", '299 - "a"', "warning", '299 - "b"']);
      stream.end("ok");
    };
    const sessions = new Http2Sessions({ url: server.url, ca: ca.certPem });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => get(sessions, `/r/${i}`)));
      assert.ok(results.every((r) => r.status === 200 && r.body === "ok"));
      assert.equal(server.sessions.size, 1);
      assert.equal(sessions.connections, 1);
      assert.equal(seen[0]?.[":authority"], `127.0.0.1:${server.url.port}`);
      assert.equal(seen[0]?.host, undefined);
      assert.equal(seen[0]?.accept, "application/json");
      const exchange = viaHttp2(sessions, { method: "GET", path: "/w", headers: [], timeoutMs: 0 }, () => {
        throw new Error("no fallback");
      });
      const response = await exchange.response;
      response.body.resume();
      // Repeated response headers stay separate fields, without the :status pseudo-header.
      assert.deepEqual(
        response.rawHeaders.filter((_, i) => i % 2 === 0 && response.rawHeaders[i] === "warning").length,
        2,
      );
      assert.ok(!response.rawHeaders.includes(":status"));
    } finally {
      sessions.close();
      await server.close();
    }
  });

  it("opens another connection when the server's stream limit is reached, instead of queueing a watch behind it", async () => {
    const server = await scriptedServer(pair, { maxConcurrentStreams: 2 });
    const open: http2.ServerHttp2Stream[] = [];
    server.handle = (stream) => {
      stream.respond({ ":status": 200 });
      stream.write("started\n");
      open.push(stream);
    };
    const sessions = new Http2Sessions({ url: server.url, ca: ca.certPem });
    try {
      // The first request learns the limit (SETTINGS arrive with the connection).
      const first = await viaHttp2(sessions, { method: "GET", path: "/w0", headers: [], timeoutMs: 0 }, () => {
        throw new Error("no fallback");
      }).response;
      const watches = await Promise.all(
        [1, 2, 3, 4].map(
          (i) =>
            viaHttp2(sessions, { method: "GET", path: `/w${i}`, headers: [], timeoutMs: 5_000 }, () => {
              throw new Error("no fallback");
            }).response,
        ),
      );
      assert.equal(watches.length, 4, "every watch got its response head");
      assert.equal(sessions.connections, 3, "5 watches at 2 streams per connection");
      assert.equal(server.sessions.size, 3);
      for (const r of [first, ...watches]) r.body.destroy();
    } finally {
      for (const stream of open) stream.destroy();
      sessions.close();
      await server.close();
    }
  });

  it("sends new requests to a new connection after GOAWAY, and lets the open stream finish", async () => {
    const server = await scriptedServer(pair);
    let slow: http2.ServerHttp2Stream | undefined;
    server.handle = (stream, headers) => {
      if (headers[":path"] === "/slow") {
        slow = stream;
        stream.respond({ ":status": 200 });
        stream.write("part 1,");
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end("ok");
    };
    const sessions = new Http2Sessions({ url: server.url, ca: ca.certPem });
    try {
      const exchange = viaHttp2(sessions, { method: "GET", path: "/slow", headers: [], timeoutMs: 0 }, () => {
        throw new Error("no fallback");
      });
      const slowResponse = await exchange.response;
      let slowBody = "";
      slowResponse.body.on("data", (c) => {
        slowBody += c;
      });
      const [first] = [...server.sessions];
      first?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
      await sleep(100);
      assert.deepEqual(await get(sessions, "/after-goaway"), { status: 200, body: "ok" });
      assert.equal(server.sessions.size, 2, "a second connection took the new request");
      slow?.end("part 2");
      await new Promise((r) => slowResponse.body.once("end", r));
      assert.equal(slowBody, "part 1,part 2");
    } finally {
      sessions.close();
      await server.close();
    }
  });

  it("sends a request the server refused unprocessed (REFUSED_STREAM) once more", async () => {
    const server = await scriptedServer(pair);
    let attempts = 0;
    server.handle = (stream) => {
      attempts++;
      if (attempts === 1) {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end("second time");
    };
    const sessions = new Http2Sessions({ url: server.url, ca: ca.certPem });
    try {
      assert.deepEqual(await get(sessions, "/refused"), { status: 200, body: "second time" });
      assert.equal(attempts, 2);
    } finally {
      sessions.close();
      await server.close();
    }
  });

  it("ends a connection whose pings go unanswered, and with it the watches it carried", async () => {
    const server = await scriptedServer(pair);
    server.handle = (stream) => {
      stream.respond({ ":status": 200 });
      stream.write("{}\n");
    };
    // A TCP relay between the pool and the server that can go silent, as a dead peer does.
    let frozen = false;
    const pairs: net.Socket[][] = [];
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(server.url.port), "127.0.0.1");
      pairs.push([client, upstream]);
      client.on("data", (d) => !frozen && upstream.write(d));
      upstream.on("data", (d) => !frozen && client.write(d));
      for (const s of [client, upstream]) s.on("error", () => {});
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const url = new URL(`https://127.0.0.1:${(relay.address() as net.AddressInfo).port}`);
    const sessions = new Http2Sessions({
      url,
      ca: ca.certPem,
      timings: { pingIntervalMs: 200, pingTimeoutMs: 300 },
    });
    try {
      const watch = await viaHttp2(sessions, { method: "GET", path: "/watch", headers: [], timeoutMs: 0 }, () => {
        throw new Error("no fallback");
      }).response;
      watch.body.on("error", () => {});
      watch.body.resume();
      await sleep(500);
      assert.equal(sessions.connections, 1, "a healthy connection answers its pings and stays");
      frozen = true;
      const started = Date.now();
      await new Promise((r) => watch.body.once("close", r));
      assert.ok(Date.now() - started < 2_000, `the watch ended ${Date.now() - started} ms after the peer went silent`);
      assert.equal(watch.body.readableEnded, false, "it ended as broken, not as finished");
      await sleep(50);
      assert.equal(sessions.connections, 0);
    } finally {
      sessions.close();
      for (const [a, b] of pairs) {
        a?.destroy();
        b?.destroy();
      }
      relay.close();
      await server.close();
    }
  });

  it("closes a connection that carried no stream for the idle time", async () => {
    const server = await scriptedServer(pair);
    const sessions = new Http2Sessions({ url: server.url, ca: ca.certPem, timings: { idleMs: 300 } });
    try {
      await get(sessions, "/once");
      assert.equal(sessions.connections, 1);
      await sleep(700);
      assert.equal(sessions.connections, 0);
      assert.equal(server.sessions.size, 0);
      assert.deepEqual(await get(sessions, "/again"), { status: 200, body: "ok" }, "a new one opens on demand");
    } finally {
      sessions.close();
      await server.close();
    }
  });

  it("rejects with the connection's error code when nothing listens (the proxy answers 503)", async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const sessions = new Http2Sessions({ url: new URL(`https://127.0.0.1:${port}`), ca: ca.certPem });
    try {
      await assert.rejects(get(sessions, "/"), (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED");
    } finally {
      sessions.close();
    }
  });

  describe("an API server without h2", () => {
    let server: https.Server;
    let url: URL;
    before(async () => {
      server = https.createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
        res.end(`http/1.1 ${req.url}`);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = new URL(`https://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    });
    after(() => {
      server.closeAllConnections();
      server.close();
    });

    it("is reached over HTTP/1.1 from then on, and the gateway is told once", async () => {
      let told = 0;
      const sessions = new Http2Sessions({ url, ca: ca.certPem, onHttp1Only: () => told++ });
      const agent = new https.Agent({ keepAlive: true, ca: ca.certPem });
      try {
        for (const path of ["/a", "/b"]) {
          const request = { method: "GET", path, headers: ["Host", url.host], timeoutMs: 5_000 };
          const response = await viaHttp2(sessions, request, () => viaHttp1(agent, url, request)).response;
          let body = "";
          for await (const chunk of response.body) body += chunk;
          assert.equal(body, `http/1.1 ${path}`);
        }
        assert.equal(told, 1);
        assert.equal(sessions.http1Only, true);
        assert.equal(sessions.connections, 0);
      } finally {
        sessions.close();
        agent.destroy();
      }
    });
  });
});
