// --api-port: one gateway serving a dashboard's browser sessions on its main port and the bare
// Kubernetes API to bearer tokens on a second one, so the dashboard's in-cluster client and the
// browser's dashboard paths never share a path space. Regression: with the API only under /k8s
// on the one port, Headlamp's bearer requests to /api/... met the session front's 401, which
// cleared the session cookie: users went back through the login in a loop (issue 18).
// Real parts: oidc-provider, kube-apiserver with RBAC, a stand-in dashboard as the upstream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  sessionGatewayFlags,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { freePort } from "../../testbed/ports.ts";
import { configMapReaderRbac } from "../../testbed/rbac.ts";
import { loginThroughGateway } from "../helpers/gateway-login.ts";
import { type StandInDashboard, startStandInDashboard } from "../helpers/stand-in-dashboard.ts";

describe("--api-port: the API to bearer tokens beside a dashboard's session front", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let dashboard: StandInDashboard;
  let gateway: RunningGateway;
  let mainUrl: string;
  let apiUrl: string;
  let janeToken: string;

  const get = (url: string, headers: Record<string, string> = {}) => httpsRequest(url, { ca: bed.ca.certPem, headers });
  const setCookieOf = (headers: Record<string, unknown>) => headers["set-cookie"];

  before(async () => {
    const port = await freePort();
    const apiPort = await freePort();
    mainUrl = `https://127.0.0.1:${port}`;
    apiUrl = `https://127.0.0.1:${apiPort}`;
    bed = await startTestBed({
      issuerRedirectUris: [`${mainUrl}/oauth2/callback`],
      issuerPostLogoutRedirectUris: [`${mainUrl}/`],
    });
    const rbac = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      configMapReaderRbac("api-port-readers", [{ kind: "Group", name: "oidc:developers" }], ["get", "list", "watch"]),
    );
    assert.equal(rbac.code, 0, rbac.stderr);
    dashboard = await startStandInDashboard("/k8s");
    const sessionFlags = await sessionGatewayFlags(bed, {
      port,
      issuerUrl: bed.issuer.url,
      clientId: clients.kubernetes.id,
      clientSecret: clients.kubernetes.secret,
      dashboardUrl: dashboard.url,
    });
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), [
      ...bedOidcFlags(bed),
      ...sessionFlags,
      `--api-port=${apiPort}`,
      "--session-scopes=openid,email,profile,groups",
    ]);
    await gatewayReady(gateway);
    janeToken = (await bed.login("jane")).idToken;
  });

  after(async () => {
    await gateway?.gateway.stop();
    await dashboard?.close();
    await bed?.stop();
  });

  it("serves the API at / to a bearer token, as the API server answers it", async () => {
    assert.equal(gateway.gateway.apiAddress?.port, Number(new URL(apiUrl).port));
    const list = await get(`${apiUrl}/api/v1/namespaces/default/configmaps`, { authorization: `Bearer ${janeToken}` });
    assert.equal(list.status, 200, list.body);
    assert.equal((JSON.parse(list.body) as { kind: string }).kind, "ConfigMapList");
    const forbidden = await get(`${apiUrl}/api/v1/namespaces/default/secrets`, {
      authorization: `Bearer ${janeToken}`,
    });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body, /User \\"jane@example.com\\" cannot list resource \\"secrets\\"/);
  });

  it("has no login front: no /oauth2 endpoints, no session cookie read, and no Set-Cookie on any refusal", async () => {
    const { cookie } = await loginThroughGateway({
      gatewayUrl: mainUrl,
      issuerUrl: bed.issuer.url,
      ca: bed.ca.certPem,
      username: "jane",
      password: "jane-password",
    });
    // The cookie works on the main port (the dashboard's API prefix) …
    const viaSession = await get(`${mainUrl}/k8s/api/v1/namespaces/default/configmaps`, {
      cookie,
      "sec-fetch-site": "same-origin",
    });
    assert.equal(viaSession.status, 200, viaSession.body);
    // … and means nothing on the API port: a request with only the cookie has no credential.
    for (const path of ["/api/v1/namespaces/default/configmaps", "/oauth2/start", "/oauth2/session", "/"]) {
      const answer = await get(`${apiUrl}${path}`, { cookie, "sec-fetch-mode": "navigate", accept: "text/html" });
      assert.equal(answer.status, 401, `${path}: ${answer.body}`);
      assert.equal((JSON.parse(answer.body) as { kind: string }).kind, "Status", path);
      assert.equal(setCookieOf(answer.headers), undefined, `${path} must not touch the browser's cookies`);
    }
    // The refusal of a bad token (what a dashboard relays to the browser) carries no Set-Cookie
    // either: the one that cleared __Host-kog-session was the loop.
    const refused = await get(`${apiUrl}/api/v1/namespaces`, { authorization: "Bearer not-a-token" });
    assert.equal(refused.status, 401);
    assert.equal(setCookieOf(refused.headers), undefined);
  });

  it("leaves the dashboard's own /api/... paths to the dashboard on the main port", async () => {
    const { cookie } = await loginThroughGateway({
      gatewayUrl: mainUrl,
      issuerUrl: bed.issuer.url,
      ca: bed.ca.certPem,
      username: "jane",
      password: "jane-password",
    });
    const before = dashboard.received.length;
    const answer = await get(`${mainUrl}/api/v1/namespaces/default/configmaps?token=secret-value`, { cookie });
    assert.equal(answer.status, 404, "the stand-in dashboard's own answer, not the API server's");
    assert.equal(answer.body, "not found\n");
    const seen = dashboard.received.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.path, "/api/v1/namespaces/default/configmaps?token=secret-value");
    assert.match(String(seen[0]?.headers.authorization), /^Bearer ey/);
    // The access log has a line for it, and for the login's callback: paths without their queries
    // (the callback's holds the authorization code), the session's subject, never a token.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const dashboardLine = lines.find((l) => l.msg === "request" && l.route === "dashboard" && l.status === 404);
    assert.equal(dashboardLine?.path, "/api/v1/namespaces/default/configmaps");
    assert.equal(typeof dashboardLine?.sub, "string");
    const callbackLine = lines.find((l) => l.msg === "request" && l.route === "login" && l.path === "/oauth2/callback");
    assert.equal(callbackLine?.status, 302);
    assert.ok(!gateway.logs.some((l) => l.includes("secret-value") || l.includes("code=")), "a query in the log");
  });

  it("streams watches over WebSocket with the token in the subprotocol", async () => {
    const protocol = `base64url.bearer.authorization.k8s.io.${Buffer.from(janeToken).toString("base64url")}`;
    const ws = new WebSocket(
      `${apiUrl.replace("https", "wss")}/api/v1/namespaces/default/configmaps?watch=true`,
      // The bearer protocol alone is refused: kube-apiserver's protocol authenticator wants a real one too.
      [protocol, "base64.binary.k8s.io"],
      // kube-apiserver's watch WebSocket (golang.org/x/net/websocket) refuses a handshake without Origin.
      { ca: bed.ca.certPem, origin: apiUrl },
    );
    const names: string[] = [];
    const opened = new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => reject(new Error(`HTTP ${res.statusCode}: ${body}`)));
      });
    });
    ws.on("message", (data) => {
      const text = String(data);
      // Either framing: JSON as is, or base64 text as base64.binary.k8s.io names it.
      const event = JSON.parse(text.startsWith("{") ? text : Buffer.from(text, "base64").toString()) as {
        type: string;
        object: { metadata: { name: string } };
      };
      if (event.type === "ADDED") names.push(event.object.metadata.name);
    });
    await opened;
    const create = await bed.kubectl(["-n", "default", "create", "configmap", "api-port-watched"]);
    assert.equal(create.code, 0, create.stderr);
    const deadline = Date.now() + 10_000;
    while (!names.includes("api-port-watched") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    ws.close();
    assert.ok(names.includes("api-port-watched"), `watch events: ${names.join(", ")}`);
  });

  it("stops with the gateway: both ports close", async () => {
    await gateway.gateway.stop();
    for (const url of [mainUrl, apiUrl]) {
      await assert.rejects(get(`${url}/livez`), /ECONNREFUSED/, url);
    }
  });
});
