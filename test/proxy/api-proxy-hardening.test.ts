// The request pipeline when Node's HTTP client refuses to build the upstream request: nothing went
// upstream and the request is what is wrong, so the client gets a 400 Status, and the promise
// settles (regressions: the rejection went unhandled — the request hung, and outside the test
// runner Node ends the process on an unhandled rejection; then it was answered 500, as if the
// gateway had failed).
import assert from "node:assert/strict";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { ApiProxy } from "../../src/proxy/api-proxy.ts";
import type { Upstream } from "../../src/upstream/cluster.ts";
import { type UpstreamRequest, viaHttp1 } from "../../src/upstream/exchange.ts";
import { parseResponses } from "../hardening/raw-client.ts";

class RefusingAgent extends https.Agent {
  addRequest(): void {
    throw new TypeError("the client refuses this request");
  }
}

describe("ApiProxy when the upstream request cannot be built", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let server: http.Server;
  let port: number;

  const url = new URL("https://127.0.0.1:9");
  // Upgrades go through Upstream.send too (request.upgrade set): one refusing transport serves both.
  const proxy = (agent: https.Agent) =>
    new ApiProxy({
      authenticator: {
        authenticate: async () => ({ user: { username: "jane", groups: [], extra: {} }, expiresAt: 0, cached: false }),
      },
      upstream: {
        url,
        agent,
        authorization: "Bearer gateway",
        send: (request: UpstreamRequest) => viaHttp1(agent, url, request),
      } as unknown as Upstream,
      logger: createLogger("error", () => {}),
      metrics: createMetrics(),
      trustedProxies: [],
      responseTimeoutMs: 5_000,
    });

  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    const gateway = proxy(new RefusingAgent());
    server = http.createServer((req, res) => void gateway.handleRequest(req, res));
    server.on("upgrade", (req, socket, head) => void gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    process.off("unhandledRejection", onUnhandled);
    server.closeAllConnections();
    server.close();
  });

  const send = (bytes: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = new net.Socket();
      socket.connect(port, "127.0.0.1", () => socket.write(bytes));
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("close", () => resolve(Buffer.concat(chunks)));
      socket.on("error", reject);
      setTimeout(() => socket.destroy(), 3_000).unref();
    });

  it("answers an ordinary request 400 with a Status (regression: UpstreamRequestInvalid reached the client as 500)", async () => {
    const [response] = parseResponses(
      await send("GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n"),
    );
    assert.equal(response?.status, 400);
    assert.equal(JSON.parse(response?.body ?? "").reason, "BadRequest");
    assert.deepEqual(unhandled, []);
  });

  it("answers such an upgrade 400 with a Status", async () => {
    const [response] = parseResponses(
      await send(
        "GET /api/v1/namespaces/default/pods/p/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
      ),
    );
    assert.equal(response?.status, 400);
    assert.equal(JSON.parse(response?.body ?? "").reason, "BadRequest");
    assert.deepEqual(unhandled, []);
  });
});
