// Upgrades (exec, attach, port-forward) through the gateway, SPDY and WebSocket, against a
// stand-in upstream (see test/helpers/stand-in-upstream.ts for why), plus the upstream failure
// answers that need an upstream which misbehaves on purpose.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import WebSocket from "ws";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { gatewayReady, type RunningGateway, startTestGateway, writeGatewayCredentials } from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { freePort } from "../../testbed/ports.ts";
import { type StandInUpstream, startStandInUpstream } from "../helpers/stand-in-upstream.ts";

const upstreamToken = "stand-in-gateway-token";

/** Sends a raw HTTP/1.1 upgrade over TLS; resolves with the response head and the socket. */
function rawUpgrade(
  url: string,
  ca: string,
  request: string,
): Promise<{ head: string; socket: tls.TLSSocket; rest: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca, ALPNProtocols: ["http/1.1"] }, () =>
      socket.write(request),
    );
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      resolve({ head: buffer.subarray(0, end).toString(), socket, rest: buffer.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.on("error", reject);
  });
}

function readExactly(socket: tls.TLSSocket, initial: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = initial;
    const check = () => {
      if (buffer.length >= length) {
        socket.off("data", onData);
        resolve(buffer.subarray(0, length));
      }
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      check();
    };
    socket.on("data", onData);
    socket.on("error", reject);
    check();
  });
}

describe("upgrades and upstream failures (stand-in upstream)", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let upstream: StandInUpstream;
  let gateway: RunningGateway;
  let jane: string;

  before(async () => {
    bed = await startTestBed({ kubeApiServer: false });
    upstream = await startStandInUpstream(await bed.ca.issueLoopbackServer("stand-in-upstream"));
    const credentials = await writeGatewayCredentials(bed, "gateway", upstream.url, upstreamToken);
    gateway = await startTestGateway(credentials, [
      `--oidc-issuer-url=${bed.issuer.url}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=email",
      "--oidc-groups-claim=groups",
      "--upstream-timeout=1s",
    ]);
    await gatewayReady(gateway, 30_000);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    await gateway?.gateway.stop();
    await upstream?.close();
    await bed?.stop();
  });

  const openUpgrades = async () => {
    const metrics = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
    return Number(/^kube_oidc_gateway_open_upgrades (\d+)$/m.exec(metrics)?.[1]);
  };

  it("passes a SPDY upgrade byte for byte both ways and closes cleanly", async () => {
    const { head, socket, rest } = await rawUpgrade(
      gateway.url,
      bed.ca.certPem,
      [
        "POST /api/v1/namespaces/default/pods/p/exec?command=sh&stdin=true HTTP/1.1",
        "Host: gateway",
        `Authorization: Bearer ${jane}`,
        "Connection: Upgrade",
        "Upgrade: SPDY/3.1",
        "X-Stream-Protocol-Version: v4.channel.k8s.io",
        "",
        "",
      ].join("\r\n"),
    );
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /^Upgrade: SPDY\/3\.1$/im);
    assert.match(head, /^X-Stream-Protocol-Version: v4\.channel\.k8s\.io$/im);
    const payload = randomBytes(256 * 1024);
    socket.write(payload);
    const echoed = await readExactly(socket, rest, payload.length);
    if (!echoed.equals(payload)) {
      let i = 0;
      while (i < payload.length && echoed[i] === payload[i]) i++;
      assert.fail(
        `bytes changed on the way at offset ${i} of ${payload.length}; rest was ${rest.length} bytes; got ${echoed.subarray(i, i + 16).toString("hex")} want ${payload.subarray(i, i + 16).toString("hex")}`,
      );
    }
    assert.equal(await openUpgrades(), 1);
    socket.end();
    await new Promise((resolve) => socket.once("close", resolve));
    await waitFor("the upgrade gauge back to 0", async () => (await openUpgrades()) === 0, { timeoutMs: 5000 });

    const seen = upstream.received.at(-1);
    assert.equal(seen?.headers["impersonate-user"], "jane@example.com");
    assert.deepEqual(
      seen?.rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1] === "Impersonate-Group"),
      ["developers", "viewers"],
    );
    assert.equal(seen?.headers.authorization, `Bearer ${upstreamToken}`, "the client's token went upstream");
  });

  it("takes the token from the WebSocket subprotocol, removes it, and echoes frames", async () => {
    const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(jane).toString("base64url")}`;
    const ws = new WebSocket(
      `${gateway.url.replace("https", "wss")}/api/v1/namespaces/default/pods/p/exec?command=sh`,
      [bearer, "v5.channel.k8s.io"],
      {
        ca: bed.ca.certPem,
      },
    );
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    assert.equal(ws.protocol, "v5.channel.k8s.io");
    const payload = randomBytes(64 * 1024);
    const echoed = new Promise<Buffer>((resolve) => ws.once("message", (data) => resolve(data as Buffer)));
    ws.send(payload);
    assert.ok((await echoed).equals(payload));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.close(1000);
    assert.equal(await closed, 1000);
    const seen = upstream.received.at(-1);
    assert.equal(seen?.headers["sec-websocket-protocol"], "v5.channel.k8s.io");
    assert.equal(seen?.headers["impersonate-user"], "jane@example.com");
    assert.doesNotMatch(JSON.stringify(seen?.rawHeaders), /bearer\.authorization/);
  });

  it("refuses a WebSocket whose only subprotocol is the token, as kube-apiserver does", async () => {
    const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(jane).toString("base64url")}`;
    const ws = new WebSocket(`${gateway.url.replace("https", "wss")}/api/v1/namespaces/default/pods/p/exec`, [bearer], {
      ca: bed.ca.certPem,
    });
    const status = await new Promise<number>((resolve) => {
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.once("error", () => resolve(-1));
    });
    assert.equal(status, 401);
  });

  it("answers an upgrade with a bad token with a 401 Status", async () => {
    const { head, rest, socket } = await rawUpgrade(
      gateway.url,
      bed.ca.certPem,
      "GET /api/v1/namespaces/default/pods/p/attach HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer nope\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
    );
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 401 Unauthorized/);
    assert.match(rest.toString(), /"reason":"Unauthorized"/);
  });

  it("relays the API server's refusal of an upgrade", async () => {
    const { head, rest, socket } = await rawUpgrade(
      gateway.url,
      bed.ca.certPem,
      `GET /forbidden HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer ${jane}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n`,
    );
    const body = await readExactly(socket, rest, Number(/content-length: (\d+)/i.exec(head)?.[1]));
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 403 /);
    assert.match(body.toString(), /stand-in refuses/);
  });

  it("replaces a client's X-Forwarded-For with the address it came from", async () => {
    const response = await httpsRequest(`${gateway.url}/api/v1/namespaces`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}`, "x-forwarded-for": "6.6.6.6", "x-remote-user": "admin" },
    });
    assert.equal(response.status, 200);
    const seen = upstream.received.at(-1);
    assert.equal(seen?.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(seen?.headers["x-remote-user"], undefined);
  });

  it("answers oversized headers (over --max-header-bytes) with a 431 Status", async () => {
    const { head, rest, socket } = await rawUpgrade(
      gateway.url,
      bed.ca.certPem,
      `GET /api HTTP/1.1\r\nHost: g\r\nX-Big: ${"a".repeat(300 * 1024)}\r\n\r\n`,
    );
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 431 /);
    assert.equal(JSON.parse(rest.toString()).kind, "Status");
  });

  it("answers 504 Timeout when the API server is too slow", async () => {
    const response = await httpsRequest(`${gateway.url}/slow`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}` },
    });
    assert.equal(response.status, 504);
    const status = JSON.parse(response.body);
    assert.equal(status.kind, "Status");
    assert.equal(status.reason, "Timeout");
  });

  it("answers 504 Timeout when the API server does not answer an upgrade in time (regression: the upgrade path had no response timeout)", async () => {
    const started = performance.now();
    const { head, socket, rest } = await rawUpgrade(
      gateway.url,
      bed.ca.certPem,
      [
        "POST /slow/exec HTTP/1.1",
        "Host: gateway",
        `Authorization: Bearer ${jane}`,
        "Connection: Upgrade",
        "Upgrade: SPDY/3.1",
        "",
        "",
      ].join("\r\n"),
    );
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 504 /);
    assert.ok(performance.now() - started < 10_000, "answered within the gateway's --upstream-timeout, not never");
    assert.equal(JSON.parse(rest.toString()).reason, "Timeout");
  });

  it("forwards an upgrade with Content-Length: 0, not the client's length (regression: a client's Content-Length went upstream with no body)", async () => {
    const { head, socket } = await rawUpgrade(
      gateway.url,
      bed.ca.certPem,
      [
        "POST /api/v1/namespaces/default/pods/p/exec?command=sh&stdin=true HTTP/1.1",
        "Host: gateway",
        `Authorization: Bearer ${jane}`,
        "Connection: Upgrade",
        "Upgrade: SPDY/3.1",
        "Content-Length: 5",
        "",
        "",
      ].join("\r\n"),
    );
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 101 /);
    const seen = upstream.received.at(-1);
    assert.equal(seen?.headers["content-length"], "0");
    assert.equal(
      seen?.rawHeaders.filter((h) => h.toLowerCase() === "content-length").length,
      1,
      "one Content-Length, the gateway's",
    );
  });

  it("answers 503 ServiceUnavailable when the API server is down", async () => {
    const down = await writeGatewayCredentials(bed, "down", `https://127.0.0.1:${await freePort()}`, upstreamToken);
    const second = await startTestGateway(down, [
      `--oidc-issuer-url=${bed.issuer.url}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=email",
    ]);
    try {
      await gatewayReady(second, 30_000);
      const response = await httpsRequest(`${second.url}/api/v1/namespaces`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${jane}` },
      });
      assert.equal(response.status, 503);
      assert.equal(JSON.parse(response.body).reason, "ServiceUnavailable");
    } finally {
      await second.gateway.stop();
    }
  });
});
