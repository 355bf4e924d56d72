// Browser sessions against the bed's oidc-provider and the real kube-apiserver, without a
// browser (the Chromium + Keycloak suite is browser-session.test.ts): what each kind of request
// gets without a session, the login's checks, cookie-authenticated API calls and their origin
// rules, logout, and a Redis store that goes away and comes back.
import assert from "node:assert/strict";
import { join } from "node:path";
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
import { type RedisServer, startRedis } from "../../testbed/redis.ts";
import { loginThroughGateway } from "../helpers/gateway-login.ts";

describe("browser sessions (oidc-provider, kube-apiserver, Redis)", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let redis: RedisServer;
  let gateway: RunningGateway;
  let url: string;

  const request = (path: string, headers: Record<string, string> = {}, method = "GET", body?: string) =>
    httpsRequest(`${url}${path}`, { ca: bed.ca.certPem, method, headers, body });
  const login = (username: string, returnPath?: string) =>
    loginThroughGateway({
      gatewayUrl: url,
      issuerUrl: bed.issuer.url,
      ca: bed.ca.certPem,
      username,
      password: `${username}-password`,
      returnPath,
    });
  const statusBody = (body: string) => JSON.parse(body) as { kind: string; code: number; reason: string };

  before(async () => {
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    bed = await startTestBed({
      issuerRedirectUris: [`${url}/oauth2/callback`],
      issuerPostLogoutRedirectUris: [`${url}/`],
    });
    redis = await startRedis({ dir: join(bed.dir, "redis") });
    const credentials = await prepareGatewayCredentials(bed);
    const rbac = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      configMapReaderRbac(
        "developers-read-configmaps",
        [{ kind: "Group", name: "oidc:developers" }],
        ["get", "list", "watch"],
      ),
    );
    assert.equal(rbac.code, 0, rbac.stderr);
    const sessionFlags = await sessionGatewayFlags(bed, {
      port,
      issuerUrl: bed.issuer.url,
      clientId: clients.kubernetes.id,
      clientSecret: clients.kubernetes.secret,
      redisUrl: redis.url,
      whoamiPage: true,
    });
    gateway = await startTestGateway(credentials, [
      ...bedOidcFlags(bed),
      ...sessionFlags,
      "--session-scopes=openid,email,profile,groups",
    ]);
    await gatewayReady(gateway);
  });

  after(async () => {
    await gateway?.gateway.stop();
    await redis?.stop();
    await bed?.stop();
  });

  it("without a session: navigations go to the login, fetches get JSON 401, the API a Status", async () => {
    const navigation = await request("/api/v1/namespaces?limit=1", {
      "sec-fetch-mode": "navigate",
      accept: "text/html",
    });
    assert.equal(navigation.status, 401, "API paths never redirect");
    assert.equal(statusBody(navigation.body).kind, "Status");
    const fetchCall = await request("/api/v1/namespaces", { "sec-fetch-mode": "cors", accept: "application/json" });
    assert.equal(fetchCall.status, 401);
    assert.deepEqual(
      { kind: statusBody(fetchCall.body).kind, reason: statusBody(fetchCall.body).reason },
      { kind: "Status", reason: "Unauthorized" },
    );
    const info = await request("/oauth2/session", { accept: "application/json" });
    assert.equal(info.status, 401);
    const start = await request("/oauth2/start?rd=%2F%2Fevil.example", { "sec-fetch-mode": "navigate" });
    assert.equal(start.status, 302);
    const authorize = new URL(String(start.headers.location));
    assert.equal(authorize.origin, bed.issuer.url);
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorize.searchParams.get("state") && authorize.searchParams.get("nonce"));
    assert.equal(authorize.searchParams.get("redirect_uri"), `${url}/oauth2/callback`);
  });

  it("logs in through the issuer, returns only to a local path, and serves the API from the cookie", async () => {
    const { cookie, callback } = await login("jane", "//evil.example/steal");
    assert.equal(callback.status, 302);
    assert.equal(callback.headers.location, "/", "an off-site return path became /");
    assert.ok(cookie, "a session cookie was set");
    const setCookie = String(callback.headers["set-cookie"]);
    assert.match(setCookie, /__Host-kog-session=[^;]+; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax/);

    const info = JSON.parse((await request("/oauth2/session", { cookie })).body) as {
      user: { username: string; groups: string[] };
    };
    assert.deepEqual(info.user.username, "jane@example.com");
    assert.deepEqual(info.user.groups, ["oidc:developers", "oidc:viewers"]);

    // The API server sees jane, impersonated by the gateway (a same-origin POST from the page).
    const review = await request(
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { cookie, origin: url, "sec-fetch-site": "same-origin", "content-type": "application/json" },
      "POST",
      JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
    );
    assert.equal(review.status, 201, review.body);
    const seen = JSON.parse(review.body) as { status: { userInfo: { username: string; groups: string[] } } };
    assert.equal(seen.status.userInfo.username, "jane@example.com");
    assert.ok(seen.status.userInfo.groups.includes("oidc:developers"));
  });

  it("refuses the cookie on cross-site writes and cross-site WebSockets", async () => {
    const { cookie } = await login("jane");
    const crossSite = await request(
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { cookie, origin: "https://evil.example", "sec-fetch-site": "cross-site", "content-type": "application/json" },
      "POST",
      JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
    );
    assert.equal(crossSite.status, 403);
    assert.equal(statusBody(crossSite.body).reason, "Forbidden");

    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace("https", "wss")}/api/v1/namespaces/default/configmaps?watch=true`, {
        ca: bed.ca.certPem,
        origin: "https://evil.example",
        headers: { cookie },
      });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("a cross-site WebSocket was let through")));
      ws.on("error", () => {});
    });
    assert.equal(status, 403);

    const sameSite = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace("https", "wss")}/api/v1/namespaces/default/configmaps?watch=true`, {
        ca: bed.ca.certPem,
        origin: url,
        headers: { cookie },
      });
      ws.on("open", () => {
        ws.close();
        resolve("open");
      });
      ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on("error", reject);
    });
    assert.equal(sameSite, "open", "the page's own origin may open the watch");
  });

  it("cross-site GET with the session cookie is refused on API paths (services/proxy GETs can have effects)", async () => {
    const { cookie } = await login("jane");
    const path = "/api/v1/namespaces/default/configmaps";
    // A Lax cookie goes out on a cross-site top-level navigation: the API must not serve it.
    const refused: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", accept: "text/html" },
      { "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate" },
      { origin: "https://evil.example", "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors" },
      { origin: "https://evil.example" },
      {},
    ];
    for (const headers of refused) {
      const crossSite = await request(path, { cookie, ...headers });
      assert.equal(crossSite.status, 403, JSON.stringify(headers));
      const body = statusBody(crossSite.body);
      assert.deepEqual(
        { kind: body.kind, code: body.code, reason: body.reason },
        { kind: "Status", code: 403, reason: "Forbidden" },
      );
    }
    // The page's own fetches and a typed URL (Sec-Fetch-Site: none) keep working.
    const sameOrigin = await request(path, { cookie, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" });
    assert.equal(sameOrigin.status, 200, sameOrigin.body);
    const typed = await request(path, { cookie, "sec-fetch-site": "none", "sec-fetch-mode": "navigate" });
    assert.equal(typed.status, 200, typed.body);
    const ownOrigin = await request(path, { cookie, origin: url });
    assert.equal(ownOrigin.status, 200, "an Origin of our own is enough without Fetch Metadata");
  });

  it("keeps the whoami page's namespace across the login redirect", async () => {
    const page = "/oauth2/whoami?namespace=team-a";
    const first = await request(page, { "sec-fetch-mode": "navigate", accept: "text/html" });
    assert.equal(first.status, 302);
    const start = new URL(String(first.headers.location), url);
    assert.equal(start.pathname, "/oauth2/start");
    assert.equal(start.searchParams.get("rd"), page);
    const { cookie, callback } = await login("jane", start.searchParams.get("rd") ?? "");
    assert.equal(callback.headers.location, page, "back to the page asked for, namespace included");
    const shown = await request(page, { cookie, "sec-fetch-mode": "navigate", accept: "text/html" });
    assert.equal(shown.status, 200);
    assert.match(shown.body, /What this identity may do in namespace <code>team-a<\/code>/);
  });

  it("explains a login whose identity the cluster would refuse (bob: email not verified)", async () => {
    const { cookie, callback } = await login("bob");
    assert.equal(cookie, "", "no session for an identity the API server refuses");
    assert.equal(callback.status, 403);
    assert.match(callback.body, /cannot use the cluster/);
    assert.match(callback.body, /EMAIL_NOT_VERIFIED/, "the page names the check that refused it");
    assert.equal(gateway.gateway.metrics.sessionLogins.get({ result: "IDENTITY_REFUSED" }), 1);
  });

  it("refuses a callback whose state it did not issue", async () => {
    const forged = await request("/oauth2/callback?code=abc&state=not-ours", { "sec-fetch-mode": "navigate" });
    assert.equal(forged.status, 400);
    assert.match(forged.body, /no longer valid/);
  });

  it("logs out here and sends the browser to the issuer's end-session endpoint with id_token_hint", async () => {
    const { cookie } = await login("carol");
    assert.equal((await request("/oauth2/session", { cookie })).status, 200);
    const out = await request("/oauth2/sign_out", { cookie, "sec-fetch-mode": "navigate" });
    assert.equal(out.status, 302);
    const endSession = new URL(String(out.headers.location));
    assert.equal(endSession.origin, bed.issuer.url);
    assert.ok(endSession.searchParams.get("id_token_hint"));
    assert.equal(endSession.searchParams.get("post_logout_redirect_uri"), `${url}/`);
    assert.match(String(out.headers["set-cookie"]), /__Host-kog-session=; Path=\/; Max-Age=0/);
    assert.equal((await request("/oauth2/session", { cookie })).status, 401, "the old cookie no longer works");
  });

  it("answers 503 while Redis is down, is not ready, and recovers when Redis returns", async () => {
    const { cookie } = await login("jane");
    await redis.stop();
    const down = await request("/api/v1/namespaces/default/configmaps", { cookie, "sec-fetch-site": "same-origin" });
    assert.equal(down.status, 503);
    assert.equal(statusBody(down.body).reason, "ServiceUnavailable");
    const ready = await fetch(`${gateway.healthUrl}/readyz`);
    assert.equal(ready.status, 503, "readiness reports the store");

    redis = await startRedis({ dir: join(bed.dir, "redis"), port: redis.port });
    await gatewayReady(gateway);
    // Redis kept no data: the old session is gone (a clear 401), and a new login works.
    assert.equal(
      (await request("/api/v1/namespaces/default/configmaps", { cookie, "sec-fetch-site": "same-origin" })).status,
      401,
    );
    const again = await login("jane");
    assert.equal((await request("/oauth2/session", { cookie: again.cookie })).status, 200);
  });
});
