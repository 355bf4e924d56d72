// The limits every exchange with the API server is held to (src/upstream/limits.ts), through the
// one client (Upstream.send) on each transport, on what kube-apiserver cannot be made to do on
// demand: answer too much, or not at all. The upstream here is Node's own HTTPS / HTTP/2 server
// on loopback, scripted per test; the proxying itself is tested against the real kube-apiserver
// (test/proxy/refused-upgrades.test.ts, test/server/gateway.test.ts).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import { postToApiServer, reviewResponseMaxBytes } from "../../src/upstream/api-request.ts";
import { Upstream } from "../../src/upstream/cluster.ts";
import { UpstreamResponseTooLarge, UpstreamTimeoutError } from "../../src/upstream/exchange.ts";
import { TestCA } from "../../testbed/ca.ts";

type Handler = (
  req: IncomingMessage | http2.Http2ServerRequest,
  res: ServerResponse | http2.Http2ServerResponse,
) => void;

describe("the limits of every exchange with the API server", { timeout: 60_000 }, () => {
  let ca: TestCA;
  let dir: string;
  let server: http2.Http2SecureServer;
  let handle: Handler = (_req, res) => res.end("{}");
  const held = new Set<Duplex>();
  let closedEarly = 0;
  const upstreams: Upstream[] = [];

  before(async () => {
    ca = await TestCA.create();
    dir = await mkdtemp(join(tmpdir(), "kog-limits-"));
    const pair = await ca.issueLoopbackServer("scripted-upstream");
    // h2 and HTTP/1.1 on one port, as kube-apiserver serves them.
    server = http2.createSecureServer({ cert: pair.certPem, key: pair.keyPem, allowHTTP1: true }, (req, res) =>
      handle(req, res),
    );
    server.on("upgrade", (_req: IncomingMessage, socket: Duplex) => {
      held.add(socket); // never answers an upgrade
      socket.once("close", () => held.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    for (const upstream of upstreams) upstream.close();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const upstreamOver = async (http2Mode: "all" | "off") => {
    const file = join(dir, `kubeconfig-${http2Mode}`);
    const port = (server.address() as AddressInfo).port;
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "c",
        clusters: [
          {
            name: "c",
            cluster: {
              server: `https://127.0.0.1:${port}`,
              "certificate-authority-data": Buffer.from(ca.certPem).toString("base64"),
            },
          },
        ],
        users: [{ name: "u", user: { token: "gateway-token" } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      }),
    );
    const upstream = new Upstream({ kubeconfig: file, extraCaFile: "", http2: http2Mode });
    upstreams.push(upstream);
    return upstream;
  };

  /** Answers with `bytes` of JSON-ish body, in 64 KiB chunks, declaring its length or not. */
  const answerWith = (bytes: number, declareLength: boolean): Handler => {
    return (req, res) => {
      req.resume();
      res.once("close", () => {
        if (!res.writableFinished) closedEarly++;
      });
      (res as ServerResponse).writeHead(201, {
        "content-type": "application/json",
        ...(declareLength ? { "content-length": String(bytes) } : {}),
      });
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const more = () => {
        while (sent < bytes) {
          const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
          sent += part.length;
          if (!(res as ServerResponse).write(part)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    };
  };

  for (const mode of ["off", "all"] as const) {
    const transport = mode === "all" ? "HTTP/2" : "HTTP/1.1";

    it(`refuses a review answer that declares more than ${reviewResponseMaxBytes} bytes, unread (${transport})`, async () => {
      handle = answerWith(reviewResponseMaxBytes + 1, true);
      const upstream = await upstreamOver(mode);
      await assert.rejects(postToApiServer(upstream, "/apis/x/v1/reviews", {}), /larger than 4194304 bytes/);
    });

    it(`cuts a review answer that streams past the cap and ends the exchange (${transport})`, async () => {
      handle = answerWith(3 * reviewResponseMaxBytes, false);
      const before = closedEarly;
      const upstream = await upstreamOver(mode);
      await assert.rejects(postToApiServer(upstream, "/apis/x/v1/reviews", {}), /larger than 4194304 bytes/);
      const deadline = Date.now() + 5_000;
      while (closedEarly === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(closedEarly, before + 1, "the upstream answer was cut off, not read to its end");
    });

    it(`reads an answer within the cap (${transport})`, async () => {
      handle = (req, res) => {
        req.resume();
        (res as ServerResponse).writeHead(201, { "content-type": "application/json" });
        res.end('{"status":{"allowed":true}}');
      };
      const upstream = await upstreamOver(mode);
      assert.deepEqual(await postToApiServer(upstream, "/apis/x/v1/reviews", {}), { status: { allowed: true } });
    });

    it(`bounds the wait for a response head (${transport})`, async () => {
      handle = (req) => req.resume(); // never answers
      const upstream = await upstreamOver(mode);
      const exchange = upstream.send({
        method: "GET",
        path: "/api/v1/namespaces",
        headers: ["Host", upstream.url.host],
        timeoutMs: 300,
      });
      const started = performance.now();
      await assert.rejects(exchange.response, UpstreamTimeoutError);
      assert.ok(performance.now() - started < 3_000);
    });
  }

  it("bounds the wait for an upgrade's response head (upgrades used to have no timeout)", async () => {
    const upstream = await upstreamOver("off");
    const exchange = upstream.send({
      method: "POST",
      path: "/api/v1/namespaces/default/pods/p/exec",
      headers: ["Host", upstream.url.host, "Connection", "Upgrade", "Upgrade", "SPDY/3.1", "Content-Length", "0"],
      timeoutMs: 300,
      upgrade: true,
    });
    await assert.rejects(exchange.response, UpstreamTimeoutError);
    const deadline = Date.now() + 5_000;
    while (held.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(held.size, 0, "the upgrade's connection was closed on the timeout");
  });

  it("caps any exchange that asks for it, not only reviews", async () => {
    handle = answerWith(200_000, false);
    const upstream = await upstreamOver("off");
    const exchange = upstream.send({
      method: "GET",
      path: "/api/v1/namespaces",
      headers: ["Host", upstream.url.host],
      timeoutMs: 5_000,
      maxResponseBytes: 100_000,
    });
    const res = await exchange.response;
    await assert.rejects(async () => {
      for await (const _ of res.body);
    }, UpstreamResponseTooLarge);
  });
});
