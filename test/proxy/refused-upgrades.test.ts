// Upgrade requests the API server does not switch, against the real kube-apiserver: an upgrade
// asked of a watch is answered with the watch itself (k8s.io/apiserver pkg/endpoints/handlers
// watch.go serves WebSocket or plain HTTP streaming; SPDY is not a watch protocol), a stream
// that never ends. The gateway held such answers in memory until they ended (+306 MB in 6 s in
// the security review) and kept the upstream request open after the client left; and it took
// any Upgrade value, not only the two Kubernetes speaks, as an upgrade.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { refusedUpgradeMaxBytes } from "../../src/proxy/upgrade-relay.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { configMapReaderRbac } from "../../testbed/rbac.ts";

/** A raw HTTP/1.1 exchange over TLS: what arrived, as it arrives, and whether the server closed. */
function rawExchange(url: string, ca: string, request: string) {
  const { hostname, port } = new URL(url);
  const socket = tls.connect({ host: hostname, port: Number(port), ca, ALPNProtocols: ["http/1.1"] }, () =>
    socket.write(request),
  );
  const state = { received: Buffer.alloc(0), closed: false };
  socket.on("data", (chunk: Buffer) => {
    state.received = Buffer.concat([state.received, chunk]);
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    state.closed = true;
  });
  return {
    state,
    text: () => state.received.toString("latin1"),
    destroy: () => socket.destroy(),
  };
}

const watchRequest = (token: string, query: string, upgrade: string) =>
  [
    `GET /api/v1/namespaces/default/configmaps?watch=1&${query} HTTP/1.1`,
    "Host: gateway",
    `Authorization: Bearer ${token}`,
    "Connection: Upgrade",
    `Upgrade: ${upgrade}`,
    "",
    "",
  ].join("\r\n");

describe("upgrades the API server does not switch (real kube-apiserver)", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let jane: string;

  before(async () => {
    bed = await startTestBed();
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), bedOidcFlags(bed));
    const rbac = configMapReaderRbac(
      "refused-upgrades",
      [{ kind: "Group", name: "oidc:developers" }],
      ["get", "list", "watch"],
    );
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac);
    assert.equal(applied.code, 0, applied.stderr);
    await gatewayReady(gateway, 30_000);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  /** kube-apiserver's own count of open ConfigMap watches. */
  const openConfigMapWatches = async () => {
    const apiServer = bed.apiServer;
    assert.ok(apiServer);
    const metrics = await httpsRequest(`${apiServer.url}/metrics`, {
      ca: apiServer.caPem,
      headers: { authorization: `Bearer ${apiServer.adminToken}` },
    });
    let open = 0;
    for (const line of metrics.body.split("\n")) {
      if (
        line.startsWith("apiserver_longrunning_requests{") &&
        /resource="configmaps"/.test(line) &&
        /verb="WATCH"/.test(line)
      )
        open += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return open;
  };

  it("streams the answer to a SPDY upgrade of a watch as it comes (regression: it was buffered until the watch ended)", async () => {
    const name = `streamed-${randomBytes(4).toString("hex")}`;
    const exchange = rawExchange(
      gateway.url,
      bed.ca.certPem,
      watchRequest(jane, `fieldSelector=metadata.name%3D${name}`, "SPDY/3.1"),
    );
    try {
      await waitFor("the response head", async () => exchange.text().includes("\r\n\r\n"), { timeoutMs: 10_000 });
      assert.match(exchange.text(), /^HTTP\/1\.1 200 /);
      const created = await bed.kubectl(["create", "configmap", name, "-n", "default"]);
      assert.equal(created.code, 0, created.stderr);
      await waitFor("the watch event", async () => exchange.text().includes(`"name":"${name}"`), { timeoutMs: 10_000 });
    } finally {
      exchange.destroy();
    }
  });

  it(`cuts such an answer at ${refusedUpgradeMaxBytes} bytes and closes (regression: it grew without bound)`, async () => {
    const label = `big-${randomBytes(4).toString("hex")}`;
    // Three ConfigMaps of 500 KB: the watch's initial events alone are 1.5 MB.
    for (let i = 0; i < 3; i++) {
      const manifest = JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `${label}-${i}`, namespace: "default", labels: { big: label } },
        data: { payload: "x".repeat(500_000) },
      });
      const created = await bed.kubectl(["create", "-f", "-"], undefined, manifest);
      assert.equal(created.code, 0, created.stderr);
    }
    const exchange = rawExchange(
      gateway.url,
      bed.ca.certPem,
      watchRequest(jane, `labelSelector=big%3D${label}`, "SPDY/3.1"),
    );
    try {
      await waitFor("the gateway to close the connection", async () => exchange.state.closed, { timeoutMs: 20_000 });
      const text = exchange.text();
      const bodyBytes = exchange.state.received.length - (text.indexOf("\r\n\r\n") + 4);
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.ok(bodyBytes <= refusedUpgradeMaxBytes, `${bodyBytes} body bytes relayed`);
      assert.ok(bodyBytes > 0);
    } finally {
      exchange.destroy();
      await bed.kubectl(["delete", "configmap", "-n", "default", "-l", `big=${label}`]);
    }
  });

  it("ends the upstream request when the client leaves (regression: the API server's watch stayed open)", async () => {
    const before = await openConfigMapWatches();
    const exchange = rawExchange(
      gateway.url,
      bed.ca.certPem,
      watchRequest(jane, "fieldSelector=metadata.name%3Dnobody", "SPDY/3.1"),
    );
    await waitFor("the watch open at the API server", async () => (await openConfigMapWatches()) > before, {
      timeoutMs: 10_000,
    });
    exchange.destroy();
    await waitFor("the watch closed at the API server", async () => (await openConfigMapWatches()) <= before, {
      timeoutMs: 5_000,
    });
  });

  it("serves an Upgrade that is neither WebSocket nor SPDY as an ordinary request (regression: taken as an upgrade and buffered)", async () => {
    const name = `plain-${randomBytes(4).toString("hex")}`;
    const exchange = rawExchange(
      gateway.url,
      bed.ca.certPem,
      watchRequest(jane, `fieldSelector=metadata.name%3D${name}`, "made-up/1.0"),
    );
    try {
      await waitFor("the response head", async () => exchange.text().includes("\r\n\r\n"), { timeoutMs: 10_000 });
      const head = exchange.text().slice(0, exchange.text().indexOf("\r\n\r\n"));
      assert.match(head, /^HTTP\/1\.1 200 /);
      // An ordinary streamed response: chunked, no connection: close.
      assert.match(head, /^transfer-encoding: chunked$/im);
      assert.doesNotMatch(head, /^connection: close$/im);
      const created = await bed.kubectl(["create", "configmap", name, "-n", "default"]);
      assert.equal(created.code, 0, created.stderr);
      await waitFor("the watch event", async () => exchange.text().includes(`"name":"${name}"`), { timeoutMs: 10_000 });
    } finally {
      exchange.destroy();
    }
  });
});
