// The gateway in front of the real kube-apiserver, used as clients use it: kubectl, raw HTTP/1.1
// and HTTP/2, watches; checked against the API server's own answers and its audit log.
import assert from "node:assert/strict";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http2 from "node:http2";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { startGateway } from "../../src/server/gateway.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  gatewayFlags,
  gatewayReady,
  gatewayServiceAccount,
  gatewayToken,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";

const gatewaySubject = `system:serviceaccount:${gatewayServiceAccount.namespace}:${gatewayServiceAccount.name}`;

const developerRbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: developer, namespace: default}
rules:
- apiGroups: [""]
  resources: [pods, configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: developers, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: developer}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}
`;

/** Opens a watch and resolves with the time the event naming `name` arrived. */
function watchFor(url: string, ca: string, token: string, name: string): { arrived: Promise<number>; close(): void } {
  let req: ReturnType<typeof https.request> | undefined;
  const arrived = new Promise<number>((resolve, reject) => {
    req = https.request(url, { ca, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch answered ${res.statusCode}`));
      let buffered = "";
      res.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        if (buffered.includes(`"name":"${name}"`)) resolve(performance.now());
      });
    });
    req.on("error", () => {});
    req.end();
  });
  return { arrived, close: () => req?.destroy() };
}

describe("serve in front of kube-apiserver", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  let gateway: RunningGateway;
  let jane: string;

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
    gateway = await startTestGateway(credentials, bedOidcFlags(bed));
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, developerRbac);
    assert.equal(applied.code, 0, applied.stderr);
    await gatewayReady(gateway, 30_000);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const viaGateway = (args: string[], token = jane) => bed.kubectl(args, { token, server: gateway.url });

  it("shows kubectl auth whoami the mapped user and groups", async () => {
    const result = await viaGateway(["auth", "whoami", "-o", "json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).status.userInfo, {
      username: "jane@example.com",
      groups: ["oidc:developers", "oidc:viewers", "system:authenticated"],
    });
  });

  it("allows and denies exactly as RBAC binds the impersonated user", async () => {
    const allowed = await viaGateway(["get", "pods", "--namespace=default"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /No resources found in default namespace/);
    const denied = await viaGateway(["get", "pods", "--namespace=kube-system"]);
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.stderr,
      /User "jane@example.com" cannot list resource "pods" in API group "" in the namespace "kube-system"/,
    );
    const canI = await viaGateway(["auth", "can-i", "watch", "configmaps", "--namespace=default"]);
    assert.equal(canI.stdout.trim(), "yes");
  });

  it("passes the API server's 403 body through unchanged", async () => {
    const path = "/api/v1/namespaces/kube-system/pods";
    const headers = { authorization: `Bearer ${jane}`, accept: "application/json" };
    const fromGateway = await httpsRequest(`${gateway.url}${path}`, { ca: bed.ca.certPem, headers });
    const fromApiServer = await httpsRequest(`${bed.apiServer?.url}${path}`, { ca: bed.ca.certPem, headers });
    assert.equal(fromGateway.status, 403);
    assert.equal(fromGateway.body, fromApiServer.body);
    assert.equal(fromGateway.headers["content-type"], "application/json");
  });

  it("answers a missing or bad token with kube-apiserver's 401 and kubectl's login message", async () => {
    const response = await httpsRequest(`${gateway.url}/api/v1/namespaces`, { ca: bed.ca.certPem });
    assert.equal(response.status, 401);
    assert.equal(
      response.body,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n',
    );
    const result = await viaGateway(["get", "pods"], "not-a-token");
    assert.match(result.stderr, /You must be logged in to the server \(Unauthorized\)/);
    assert.doesNotMatch(gateway.logs.join(""), /not-a-token/, "a token reached the log");
  });

  it("refuses client impersonation headers in every letter case with a 403 Status", async () => {
    for (const name of ["Impersonate-User", "impersonate-group", "IMPERSONATE-UID", "Impersonate-Extra-scopes"]) {
      const response = await httpsRequest(`${gateway.url}/api/v1/namespaces/default/pods`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${jane}`, [name]: "admin" },
      });
      assert.equal(response.status, 403, name);
      const status = JSON.parse(response.body);
      assert.equal(status.kind, "Status");
      assert.equal(status.reason, "Forbidden");
    }
    const asAdmin = await viaGateway(["get", "pods", "--as=admin", "--as-group=system:masters"]);
    assert.notEqual(asAdmin.code, 0);
    assert.match(asAdmin.stderr, /Error from server \(Forbidden\): impersonation is not allowed through this gateway/);
  });

  it("passes large requests (64 KiB of headers, as id tokens with many groups make) to the API server", async () => {
    const response = await httpsRequest(`${gateway.url}/api/v1/namespaces/default/configmaps`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}`, "x-padding": "a".repeat(64 * 1024) },
    });
    assert.equal(response.status, 200);
  });

  it("serves HTTP/2 clients", async () => {
    const session = http2.connect(gateway.url, { ca: bed.ca.certPem });
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({
          ":path": "/api/v1/namespaces/default/configmaps",
          authorization: `Bearer ${jane}`,
        });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => {
          status = Number(headers[":status"]);
        });
        stream.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end();
      });
      assert.equal(status, 200);
      assert.equal(JSON.parse(body).kind, "ConfigMapList");
    } finally {
      session.close();
    }
  });

  it("delivers a watch event within 100 ms of the direct watch", async () => {
    const name = `watched-${Date.now()}`;
    const path = "/api/v1/namespaces/default/configmaps?watch=true";
    const throughGateway = watchFor(`${gateway.url}${path}`, bed.ca.certPem, jane, name);
    const directly = watchFor(`${bed.apiServer?.url}${path}`, bed.ca.certPem, jane, name);
    try {
      await new Promise((r) => setTimeout(r, 500)); // both watches established
      const created = await bed.kubectl(["create", "configmap", name, "--namespace=default"]);
      assert.equal(created.code, 0, created.stderr);
      const [gatewayAt, directAt] = await Promise.all([throughGateway.arrived, directly.arrived]);
      assert.ok(
        gatewayAt - directAt < 100,
        `the gateway delivered the event ${(gatewayAt - directAt).toFixed(1)} ms after the direct watch`,
      );
    } finally {
      throughGateway.close();
      directly.close();
    }
  });

  it("carries 40 watches to the API server as streams of one HTTP/2 connection, each delivering its events", async () => {
    const path = "/api/v1/namespaces/default/configmaps?watch=true";
    const name = `shared-${Date.now()}`;
    const watches = Array.from({ length: 40 }, () => watchFor(`${gateway.url}${path}`, bed.ca.certPem, jane, name));
    try {
      await new Promise((r) => setTimeout(r, 1_000)); // every watch established
      assert.equal(gateway.gateway.metrics.openWatches.value, 40);
      assert.equal(gateway.gateway.metrics.upstreamHttp2Connections.value, 1, "one connection for every watch");
      const created = await bed.kubectl(["create", "configmap", name, "--namespace=default"]);
      assert.equal(created.code, 0, created.stderr);
      await Promise.all(watches.map((w) => w.arrived));
    } finally {
      for (const w of watches) w.close();
    }
    await waitFor("the watches released", async () => gateway.gateway.metrics.openWatches.value === 0, {
      timeoutMs: 5_000,
    });
  });

  it("reaches the API server only as its ServiceAccount impersonating the user (audit log)", async () => {
    // Every request of this test carries the marker, so the check reads only its own events:
    // counting all of jane's events raced with the previous test's direct watch, whose audit
    // event is written when the API server notices that watch closed.
    const marker = `audit-${Date.now()}`;
    for (let i = 0; i < 3; i++) {
      const r = await httpsRequest(`${gateway.url}/api/v1/namespaces/default/configmaps?labelSelector=${marker}`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${jane}` },
      });
      assert.equal(r.status, 200);
    }
    const forged = await httpsRequest(`${gateway.url}/api/v1/namespaces/default/pods?labelSelector=${marker}`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}`, "Impersonate-User": "forged-admin" },
    });
    assert.equal(forged.status, 403);
    const events = (await bed.apiServer?.auditEvents()) ?? [];
    const marked = events.filter((e) => e.requestURI.includes(marker));
    assert.equal(marked.length, 3, "each request through the gateway is one audit event, the forged one none");
    for (const event of marked) {
      assert.equal(event.user.username, gatewaySubject, "the API server saw someone other than the gateway");
      assert.equal(event.impersonatedUser?.username, "jane@example.com");
      assert.deepEqual(event.impersonatedUser?.groups, ["oidc:developers", "oidc:viewers", "system:authenticated"]);
    }
    assert.equal(
      events.filter((e) => JSON.stringify(e).includes("forged-admin")).length,
      0,
      "a forged identity reached the API server",
    );
  });

  it("keeps serving while its ServiceAccount token rotates on disk: no failed request", async () => {
    const failures: string[] = [];
    let requests = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const r = await httpsRequest(`${gateway.url}/api/v1/namespaces/default/configmaps`, {
          ca: bed.ca.certPem,
          headers: { authorization: `Bearer ${jane}` },
        });
        requests++;
        if (r.status !== 200) failures.push(`${r.status} ${r.body.slice(0, 200)}`);
      }
    })();
    const rotated = await gatewayToken(bed);
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(credentials.tokenFile, rotated);
    await waitFor("the rotated token in use", async () => gateway.logs.join("").includes("upstream token reloaded"), {
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await load;
    assert.deepEqual(failures, []);
    assert.ok(requests > 10, `only ${requests} requests ran`);
    const events = (await bed.apiServer?.auditEvents()) ?? [];
    const newJti = JSON.parse(Buffer.from(rotated.split(".")[1] ?? "", "base64url").toString()).jti;
    assert.ok(
      events.some(
        (e) =>
          e.user.username === gatewaySubject &&
          e.user.extra?.["authentication.kubernetes.io/credential-id"]?.[0] === `JTI=${newJti}`,
      ),
      "no request arrived with the rotated token",
    );
  });

  it("refetches the issuer's keys for an unknown kid, at most once per cooldown", async () => {
    const fetches = async () => {
      const metrics = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
      return Number(
        /^kube_oidc_gateway_jwks_fetches_total\{issuer="[^"]+",result="success"\} (\d+)$/m.exec(metrics)?.[1],
      );
    };
    const unknownKid = () =>
      bed.mint({
        alg: "RS256",
        kid: "rogue-rsa",
        claims: {
          iss: bed.issuer.url,
          aud: clients.kubernetes.id,
          email: "x@example.com",
          exp: Math.floor(Date.now() / 1000) + 60,
          jti: String(Math.random()),
        },
      });
    await new Promise((r) => setTimeout(r, 5100)); // past any cooldown left by earlier tests
    const before = await fetches();
    for (let i = 0; i < 5; i++) {
      const r = await httpsRequest(`${gateway.url}/api`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${unknownKid()}` },
      });
      assert.equal(r.status, 401);
    }
    assert.equal(await fetches(), before + 1, "hostile tokens must not make the gateway hammer the issuer");
  });

  it("runs in-cluster: service host and port from the environment, token and ca.crt from the ServiceAccount folder", async () => {
    const serviceAccountDir = await mkdtemp(join(tmpdir(), "kog-sa-"));
    try {
      await copyFile(credentials.tokenFile, join(serviceAccountDir, "token"));
      await copyFile(credentials.caFile, join(serviceAccountDir, "ca.crt"));
      const flags = (
        await gatewayFlags(credentials, [
          `--oidc-issuer-url=${bed.issuer.url}`,
          `--oidc-client-id=${clients.kubernetes.id}`,
          "--oidc-username-claim=email",
        ])
      ).filter((f) => !f.startsWith("--kubeconfig="));
      const { config } = loadServeConfig(flags, {});
      assert.ok(config);
      const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(bed.apiServer?.port) };
      const inCluster = await startGateway(config, { env, serviceAccountDir, logger: createLogger("error") });
      try {
        const url = `https://127.0.0.1:${inCluster.address.port}`;
        await waitFor(
          "readiness",
          async () => (await fetch(`http://127.0.0.1:${inCluster.healthAddress?.port}/readyz`)).status === 200,
          { timeoutMs: 30_000 },
        );
        const result = await bed.kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], {
          token: jane,
          server: url,
        });
        assert.equal(result.stdout, "jane@example.com", result.stderr);
      } finally {
        await inCluster.stop();
      }
    } finally {
      await rm(serviceAccountDir, { recursive: true, force: true });
    }
  });

  it("reports health, readiness and metrics on the plain health port", async () => {
    assert.equal((await fetch(`${gateway.healthUrl}/livez`)).status, 200);
    assert.equal((await fetch(`${gateway.healthUrl}/readyz`)).status, 200);
    const metrics = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
    assert.match(metrics, /^kube_oidc_gateway_http_requests_total\{method="GET",code="200"\} \d+$/m);
    assert.match(metrics, /^kube_oidc_gateway_authentications_total\{result="failure",reason="MALFORMED"\} \d+$/m);
    assert.match(metrics, /^kube_oidc_gateway_jwks_fetches_total\{issuer="[^"]+",result="success"\} \d+$/m);
    assert.match(metrics, /^kube_oidc_gateway_open_watches 0$/m);
  });
});
