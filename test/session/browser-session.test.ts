// Browser sessions end to end, with real parts only: Keycloak's own login page in Debian's
// Chromium, the gateway in front of the real kube-apiserver, a real Redis for two replicas.
// Keycloak's access (and id) token lifespan is cut to 30 s so "5 × the lifespan" fits a test.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import type { BrowserContext, Page } from "playwright-core";
import { defaultJwtAuthenticators, startTestBed, type TestBed } from "../../testbed/bed.ts";
import { launchChromium, type TestBrowser } from "../../testbed/browser.ts";
import {
  type GatewayCredentials,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  sessionGatewayFlags,
  startTestGateway,
  writeAuthenticationConfig,
} from "../../testbed/gateway.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { keycloakClients, keycloakUsers } from "../../testbed/keycloak/keycloak.ts";
import { freePort } from "../../testbed/ports.ts";
import { configMapReaderRbac } from "../../testbed/rbac.ts";
import { type RedisServer, startRedis } from "../../testbed/redis.ts";
import { type StandInDashboard, startStandInDashboard } from "../helpers/stand-in-dashboard.ts";

const lifespanSeconds = 30;
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PageStats {
  ok: number;
  unauthorized: number;
  other: number;
  errors: number;
  statuses: Record<string, number>;
  wsOpen: boolean;
  wsEvents: number;
  wsNames: string[];
  wsClosed: { code: number; at: number } | null;
}

describe("browser sessions (Keycloak, Chromium, kube-apiserver)", { timeout: 900_000 }, () => {
  let bed: TestBed;
  let browser: TestBrowser;
  let redis: RedisServer;
  let credentials: GatewayCredentials;
  let authenticationConfig: string;
  const started: RunningGateway[] = [];
  const dashboards: StandInDashboard[] = [];

  const keycloak = () => {
    assert.ok(bed.keycloak, "Keycloak did not start");
    return bed.keycloak;
  };

  /** A gateway with sessions, registered at Keycloak as the gateway client's redirect and logout target. */
  async function startSessionGateway(options: { redisUrl?: string; port?: number; externalPort?: number }) {
    const port = options.port ?? (await freePort());
    const externalUrl = `https://127.0.0.1:${options.externalPort ?? port}`;
    const dashboard = await startStandInDashboard("/k8s");
    dashboards.push(dashboard);
    const flags = await sessionGatewayFlags(bed, {
      port,
      externalUrl,
      issuerUrl: keycloak().issuerUrl,
      clientId: keycloakClients.gateway.id,
      clientSecret: keycloakClients.gateway.secret,
      redisUrl: options.redisUrl,
      dashboardUrl: dashboard.url,
      whoamiPage: true,
    });
    const gateway = await startTestGateway(credentials, [`--authentication-config=${authenticationConfig}`, ...flags]);
    started.push(gateway);
    await gatewayReady(gateway);
    return { gateway, dashboard, externalUrl };
  }

  async function registerAtKeycloak(externalUrl: string): Promise<void> {
    await keycloak().admin.updateClient(keycloakClients.gateway.id, {
      fields: { redirectUris: [`${externalUrl}/*`] },
      attributes: {
        "post.logout.redirect.uris": "+",
        "backchannel.logout.url": `${externalUrl}/oauth2/backchannel-logout`,
        "backchannel.logout.session.required": "true",
      },
    });
  }

  /** Logs in through Keycloak's own login page, starting from the dashboard behind the gateway. */
  async function login(context: BrowserContext, url: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.waitForURL((u) => u.href.startsWith(keycloak().url), { timeout: 30_000 });
    await page.fill("#username", keycloakUsers.testuser.username);
    await page.fill("#password", keycloakUsers.testuser.password);
    await page.click("#kc-login");
    await page.waitForURL(`${url}/`, { timeout: 30_000 });
    await page.waitForFunction(() => (globalThis as unknown as { stats?: PageStats }).stats?.wsOpen === true, null, {
      timeout: 30_000,
    });
    return page;
  }

  const statsOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { stats: PageStats }).stats);

  async function createConfigMap(name: string): Promise<void> {
    const result = await bed.kubectl(["create", "configmap", name, "--namespace=default"]);
    assert.equal(result.code, 0, result.stderr);
  }

  before(async () => {
    bed = await startTestBed({ keycloak: true, log });
    await keycloak().admin.setAccessTokenLifespan(lifespanSeconds);
    await keycloak().admin.enableEvents(["LOGIN", "CODE_TO_TOKEN", "REFRESH_TOKEN", "REFRESH_TOKEN_ERROR", "LOGOUT"]);
    credentials = await prepareGatewayCredentials(bed);
    authenticationConfig = await writeAuthenticationConfig(
      bed,
      defaultJwtAuthenticators({ oidcProvider: bed.issuer, keycloak: bed.keycloak, caPem: bed.ca.certPem }),
    );
    // What the realm's developers may do: read and watch ConfigMaps in default.
    const rbac = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      configMapReaderRbac(
        "developers-read-configmaps",
        [{ kind: "Group", name: "keycloak:developers" }],
        ["get", "list", "watch"],
      ),
    );
    assert.equal(rbac.code, 0, rbac.stderr);
    browser = await launchChromium();
    redis = await startRedis({ dir: join(bed.dir, "redis"), log });
  });

  after(async () => {
    await browser?.close();
    for (const gateway of started) await gateway.gateway.stop();
    for (const dashboard of dashboards) await dashboard.close();
    await redis?.stop();
    await bed?.stop();
  });

  it(`keeps a dashboard's API calls and watch alive for 5 × the ${lifespanSeconds} s token lifespan: no 401, no re-login`, async () => {
    const { gateway, dashboard, externalUrl } = await startSessionGateway({});
    await registerAtKeycloak(externalUrl);
    const context = await browser.newContext();
    const page = await login(context, externalUrl);
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations.push(frame.url());
    });

    const created: string[] = [];
    const until = Date.now() + 5 * lifespanSeconds * 1000 + 10_000;
    for (let i = 0; Date.now() < until; i++) {
      const name = `session-watch-${i}`;
      await createConfigMap(name);
      created.push(name);
      await sleep(10_000);
    }
    await sleep(2_000);

    const stats = await statsOf(page);
    assert.deepEqual(navigations, [], "the page never left the dashboard (no re-login)");
    assert.equal(stats.unauthorized, 0, `no 401 (statuses: ${JSON.stringify(stats.statuses)})`);
    assert.equal(stats.other + stats.errors, 0, `only 200s (statuses: ${JSON.stringify(stats.statuses)})`);
    assert.ok(stats.ok >= 70, `the page called the API throughout (${stats.ok} answers)`);
    assert.equal(stats.wsClosed, null, "the gateway never dropped the watch");
    for (const name of created) assert.ok(stats.wsNames.includes(name), `the watch delivered ${name}`);

    const metrics = gateway.gateway.metrics;
    assert.equal(metrics.sessionLogins.get({ result: "success" }), 1, "one login");
    const refreshes = metrics.sessionRefreshes.get({ outcome: "success" });
    assert.ok(refreshes >= 5, `refreshed before each expiry (${refreshes} refreshes in ${5 * lifespanSeconds + 10} s)`);
    assert.equal(metrics.sessionRefreshes.get({ outcome: "rejected" }), 0);

    // The dashboard got the session's id token as Bearer, and never the gateway's cookies.
    const seen = dashboard.received.at(-1);
    assert.ok(seen, "the dashboard was called");
    const bearer = String(seen.headers.authorization ?? "");
    assert.match(bearer, /^Bearer /);
    assert.equal(decodeJwt(bearer.slice(7)).iss, keycloak().issuerUrl);
    assert.doesNotMatch(String(seen.headers.cookie ?? ""), /__Host-kog-/);
    await context.close();
  });

  it("renders the whoami page: user, groups, time left and what the identity may do", async () => {
    const { externalUrl } = await startSessionGateway({});
    await registerAtKeycloak(externalUrl);
    const context = await browser.newContext();
    const page = await login(context, externalUrl);
    await page.goto(`${externalUrl}/oauth2/whoami`);
    assert.equal(await page.textContent("#username"), "keycloak:testuser");
    assert.match((await page.textContent("#groups")) ?? "", /keycloak:developers/);
    assert.match((await page.textContent("#time-left")) ?? "", /^in (\d+m)?\d+s$/);
    const body = (await page.textContent("body")) ?? "";
    assert.match(body, /configmaps/, "the rules review lists ConfigMaps");
    assert.match(body, /preferred_username/, "decoded claims are shown");
    assert.ok(
      !body.includes((await context.cookies()).find((c) => c.name.startsWith("__Host-kog-session"))?.value ?? "\0"),
    );
    const shots = process.env.KOG_UPDATE_SCREENSHOTS ? join(import.meta.dirname, "../../docs/images") : bed.dir;
    await mkdir(shots, { recursive: true });
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.screenshot({ path: join(shots, "whoami.png"), fullPage: true });
    await context.close();
  });

  it("logout at the gateway ends the Keycloak session and closes the session's WebSockets", async () => {
    await keycloak().admin.endSessions("testuser"); // earlier tests' SSO sessions
    const { externalUrl } = await startSessionGateway({});
    await registerAtKeycloak(externalUrl);
    const context = await browser.newContext();
    const watcher = await login(context, externalUrl);
    assert.equal((await keycloak().admin.userSessions("testuser")).length, 1);
    const page = await context.newPage();
    await page.goto(`${externalUrl}/oauth2/sign_out`);
    // Back from Keycloak's end-session endpoint to "/", which needs a login again.
    await page.waitForURL((u) => u.href.startsWith(keycloak().url) && u.pathname.includes("/auth"), {
      timeout: 30_000,
    });
    assert.equal((await keycloak().admin.userSessions("testuser")).length, 0, "Keycloak's SSO session ended");
    await watcher.waitForFunction(() => (globalThis as unknown as { stats: PageStats }).stats.wsClosed !== null, null, {
      timeout: 10_000,
    });
    await context.close();
  });

  it("a back-channel logout from Keycloak ends the gateway session and closes its WebSockets", async () => {
    const { gateway, externalUrl } = await startSessionGateway({});
    await registerAtKeycloak(externalUrl);
    const context = await browser.newContext();
    const page = await login(context, externalUrl);
    const cookie = (await context.cookies()).find((c) => c.name === "__Host-kog-session");
    assert.ok(cookie, "a session cookie");
    assert.ok(cookie.httpOnly && cookie.secure && cookie.sameSite === "Lax", "Secure, HttpOnly, SameSite=Lax");
    assert.ok(cookie.value.length < 400, `a small cookie (${cookie.value.length} bytes)`);

    await keycloak().admin.endSessions("testuser"); // Keycloak sends logout tokens to the client
    await page.waitForFunction(() => (globalThis as unknown as { stats: PageStats }).stats.wsClosed !== null, null, {
      timeout: 15_000,
    });
    assert.equal(gateway.gateway.metrics.sessionLogouts.get({ kind: "backchannel" }), 1);
    const info = await httpsRequest(`${externalUrl}/oauth2/session`, {
      ca: bed.ca.certPem,
      headers: { cookie: `${cookie.name}=${cookie.value}`, accept: "application/json" },
    });
    assert.equal(info.status, 401, "the session is gone");
    await context.close();
  });

  it("two replicas sharing Redis, two tabs at once, refresh tokens revoked on use: one refresh per expiry, nobody logged out", async () => {
    await keycloak().admin.setRevokeRefreshToken(true);
    const portA = await freePort();
    const a = await startSessionGateway({ redisUrl: redis.url, port: portA });
    const b = await startSessionGateway({ redisUrl: redis.url, externalPort: portA });
    await registerAtKeycloak(a.externalUrl);
    const since = Date.now();
    const context = await browser.newContext();
    await login(context, a.externalUrl);
    const cookie = (await context.cookies()).find((c) => c.name === "__Host-kog-session");
    assert.ok(cookie);
    // What a tab's own fetch sends: the cookie, and Sec-Fetch-Site saying it is the page's own
    // request (cookie-authenticated API requests must be same-origin).
    const headers = {
      cookie: `${cookie.name}=${cookie.value}`,
      accept: "application/json",
      "sec-fetch-site": "same-origin",
    };
    const bUrl = b.gateway.url;

    const statuses: number[] = [];
    const until = Date.now() + 3 * lifespanSeconds * 1000 + 5_000;
    let round = 0;
    while (Date.now() < until) {
      // Two tabs at the same moment, one on each replica, alternating which goes first.
      const urls = round++ % 2 === 0 ? [a.externalUrl, bUrl] : [bUrl, a.externalUrl];
      const answers = await Promise.all(
        urls.map((url) =>
          httpsRequest(`${url}/k8s/api/v1/namespaces/default/configmaps`, { ca: bed.ca.certPem, headers }),
        ),
      );
      statuses.push(...answers.map((r) => r.status));
      await sleep(1_000);
    }
    // And a refresh asked for by both tabs at once: one reaches Keycloak.
    const onDemand = await Promise.all(
      [a.externalUrl, bUrl].map((url) =>
        httpsRequest(`${url}/oauth2/refresh`, {
          method: "POST",
          ca: bed.ca.certPem,
          headers: { ...headers, origin: a.externalUrl, "sec-fetch-site": "same-origin" },
        }),
      ),
    );
    assert.deepEqual(
      onDemand.map((r) => r.status),
      [200, 200],
    );

    assert.ok(
      statuses.every((s) => s === 200),
      `every request answered 200: ${JSON.stringify(statuses.filter((s) => s !== 200))}`,
    );
    const gatewayRefreshes = [a, b].reduce(
      (n, r) => n + r.gateway.gateway.metrics.sessionRefreshes.get({ outcome: "success" }),
      0,
    );
    const keycloakRefreshes = (await keycloak().admin.events("REFRESH_TOKEN")).filter((e) => e.time >= since);
    const keycloakErrors = (await keycloak().admin.events("REFRESH_TOKEN_ERROR")).filter((e) => e.time >= since);
    assert.equal(keycloakErrors.length, 0, "no refresh token was used twice");
    assert.equal(keycloakRefreshes.length, gatewayRefreshes, "every refresh the gateways made reached Keycloak once");
    // 95 s of 30 s tokens refreshed 7.5 s ahead: 4 expiries, plus the on-demand refresh.
    assert.ok(
      gatewayRefreshes >= 4 && gatewayRefreshes <= 6,
      `one refresh per expiry across both replicas (${gatewayRefreshes})`,
    );
    const info = JSON.parse((await httpsRequest(`${bUrl}/oauth2/session`, { ca: bed.ca.certPem, headers })).body) as {
      refreshes: number;
      user: { username: string };
    };
    assert.equal(info.user.username, "keycloak:testuser");
    assert.equal(info.refreshes, gatewayRefreshes, "the shared record counted each refresh once");
    await context.close();
    await keycloak().admin.setRevokeRefreshToken(false);
  });
});
