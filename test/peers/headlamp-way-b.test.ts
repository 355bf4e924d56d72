// docs/headlamp.md way B with the real Headlamp v0.45.0, as one gateway deployment: the gateway's
// browser login in front of Headlamp (--session-* + --dashboard-upstream) and Headlamp's in-cluster
// API on the same gateway's --api-port. In Chromium against Keycloak with 60 s tokens, five token
// lifetimes with the tab frozen for 80 s in the middle: the gateway refreshes ahead of each id
// token's expiry before it forwards, so Headlamp never holds an expired token: no "Lost
// connection" banner, no second login, new objects appear live, and no token reaches the page.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { keycloakUsers } from "../../testbed/keycloak/keycloak.ts";
import type { RunningHeadlamp } from "../../testbed/peers/headlamp.ts";
import { freePort } from "../../testbed/ports.ts";
import {
  type HeadlampBed,
  log,
  readAudit,
  sleep,
  startHeadlampBed,
  tokenLifespanSeconds,
  tokensSeen,
  unauthorizedSince,
} from "../helpers/headlamp-bed.ts";
import {
  bannerAppears,
  collectResponseBodies,
  keepListLive,
  scriptVisibleState,
  waitForText,
  watchBanners,
} from "../helpers/headlamp-browser.ts";
import {
  loginAt,
  registerGatewayAtKeycloak,
  startWayBGateway,
  startWayBHeadlamp,
  type WayBGateway,
  watchLogins,
} from "../helpers/headlamp-way-b.ts";

const frozenMs = 80_000;
/** A compact JWS (id, access and Keycloak's refresh tokens are all JWTs): header.payload.… */
const jwtPattern = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;

describe("Headlamp v0.45.0 way B: the gateway's login in front, its --api-port as Headlamp's API", {
  timeout: 900_000,
}, () => {
  let hb: HeadlampBed;
  let gw: WayBGateway;
  let headlamp: RunningHeadlamp;
  let auditFile: string;
  let externalUrl: string;

  before(async () => {
    hb = await startHeadlampBed();
    auditFile = join(hb.bed.dir, "gateway-audit.log");
    const headlampPort = await freePort();
    gw = await startWayBGateway(hb, { headlampPort, auditFile });
    externalUrl = `https://127.0.0.1:${gw.port}`;
    await registerGatewayAtKeycloak(hb, externalUrl);
    headlamp = await startWayBHeadlamp(hb, { port: headlampPort, apiPort: gw.apiPort });
  });

  after(async () => {
    await headlamp?.stop();
    await gw?.gateway.gateway.stop().catch(() => {}); // the test stops it
    await hb?.stop();
  });

  it("keeps a ConfigMap list live over 5 × 60 s tokens with an 80 s frozen tab: no banner, one login, no token in the page", async () => {
    const keycloak = hb.bed.keycloak;
    assert.ok(keycloak);
    const since = Date.now();
    const context = await hb.browser.newContext();
    const banners = await watchBanners(context);
    const logins = watchLogins(context, keycloak.url);
    const responses = collectResponseBodies(context);
    const page = await context.newPage();
    await loginAt(page, externalUrl, "/c/main/configmaps", keycloak.url, keycloakUsers.testuser);
    const first = await createConfigMap("way-b-0");
    await waitForText(page, first, 30_000);
    const loggedInAt = Date.now();
    log(`way B: logged in, the list shows ${first} (${((loggedInAt - since) / 1000).toFixed(1)} s)`);

    // Five token lifetimes from the login, frozen from 1.5 lifetimes for 80 s.
    const late = await keepListLive({
      page,
      label: "way-b",
      loggedInAt,
      lifespanSeconds: tokenLifespanSeconds,
      frozenMs,
      create: createConfigMap,
      log,
    });
    await sleep(3_000); // a banner from the last check would show by now

    const events = await readAudit(auditFile);
    const seen = tokensSeen(events, "keycloak:testuser");
    // From the login on (Headlamp's own ServiceAccount token, refused at its start, is earlier).
    const unauthorized = unauthorizedSince(events, since);
    const keycloakLogins = (await keycloak.admin.events("LOGIN")).filter((e) => e.time >= since);
    const metrics = gw.gateway.gateway.metrics;
    const state = await scriptVisibleState(page);
    log(
      `way B report: ${banners.appearances.length} banner(s); ${logins.starts.length} /oauth2/start; ` +
        `${logins.keycloakPages.length} Keycloak page(s); ${keycloakLogins.length} Keycloak login(s); ` +
        `${metrics.sessionRefreshes.get({ outcome: "success" })} gateway refreshes; ${seen.jtis.size} distinct id tokens at the API port; ` +
        `${unauthorized.length} 401s from the gateway; ${responses.bodies.length} response bodies checked; late: ${JSON.stringify(late)}`,
    );
    // Positive control of the banner counter: with the gateway gone, Headlamp's health check
    // (/healthz every 5 s, AlertNotification.tsx) fails and the banner must be counted.
    const duringRun = [...banners.appearances];
    await gw.gateway.gateway.stop();
    const controlSeen = await bannerAppears(banners, duringRun.length, 30_000);
    await context.close();

    assert.ok(controlSeen, "the banner counter saw the banner once the gateway was gone");
    assert.deepEqual(late, [], "every object appeared in the list without a reload");
    assert.deepEqual(duringRun, [], 'no "Lost connection to the cluster" banner during the run');
    assert.equal(logins.starts.length, 1, `one login begun at the gateway: ${JSON.stringify(logins.starts)}`);
    assert.equal(logins.keycloakPages.length, 1, "Keycloak's login page shown once");
    assert.equal(keycloakLogins.length, 1, "one Keycloak login");
    assert.equal(metrics.sessionLogins.get({ result: "success" }), 1);
    assert.ok(metrics.sessionRefreshes.get({ outcome: "success" }) >= 4, "the gateway refreshed ahead of each expiry");
    assert.ok(seen.jtis.size >= 4, `Headlamp forwarded the refreshed id tokens (${seen.jtis.size} distinct)`);
    assert.deepEqual(
      unauthorized.map((e) => `${e.verb} ${e.requestURI}`),
      [],
      "the gateway never answered 401 (Headlamp never held an expired token)",
    );
    // No token in what the page's JavaScript can read, nor in any body it received.
    assert.doesNotMatch(state, jwtPattern, "no token in document.cookie, localStorage or sessionStorage");
    const leaked = responses.bodies.filter((r) => jwtPattern.test(r.body) && !r.url.startsWith(keycloak.url));
    assert.deepEqual(
      leaked.map((r) => r.url),
      [],
      "no response from the gateway or Headlamp carried a token",
    );
    assert.ok(responses.bodies.length > 50, `bodies were collected (${responses.bodies.length})`);
  });

  async function createConfigMap(name: string): Promise<string> {
    const result = await hb.bed.kubectl(["create", "configmap", name, "--namespace=default"]);
    assert.equal(result.code, 0, result.stderr);
    return name;
  }
});
