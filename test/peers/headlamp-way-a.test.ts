// docs/headlamp.md way A, the incident's setup, with the real Headlamp v0.45.0: Headlamp logs the
// user in at Keycloak itself (-oidc-* flags, PKCE), runs in-cluster with the gateway as its API
// (bearer id tokens at /, a gateway without sessions), in Chromium, for five 60 s token lifetimes
// with the tab frozen for 80 s in the middle. Headlamp's own refresh (pkg/auth/middleware.go:
// only on a request, only within 10 s of expiry, JWTExpirationTTL in pkg/auth/auth.go) is what
// this way depends on: its "Lost connection" banners are Headlamp's and are counted and reported,
// not failed on. What must hold: objects appear live, the gateway accepts the refreshed tokens.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keycloakClients } from "../../testbed/keycloak/keycloak.ts";
import {
  type HeadlampBed,
  log,
  readAudit,
  startHeadlampBed,
  tokenLifespanSeconds,
  tokensSeen,
  unauthorizedSince,
} from "../helpers/headlamp-bed.ts";
import { bannerAppears, keepListLive, pageText, waitForText, watchBanners } from "../helpers/headlamp-browser.ts";
import { loginWayA, startWayA, type WayA } from "../helpers/headlamp-way-a.ts";

const frozenMs = 80_000;

describe("Headlamp v0.45.0 way A: its own OIDC login, the gateway as its in-cluster API", { timeout: 900_000 }, () => {
  let hb: HeadlampBed;
  let wayA: WayA;

  before(async () => {
    hb = await startHeadlampBed();
    wayA = await startWayA(hb);
  });

  after(async () => {
    await wayA?.stop();
    await hb?.stop();
  });

  it("keeps a ConfigMap list live over 5 × 60 s tokens with an 80 s frozen tab; the gateway accepts Headlamp's refreshed tokens", async () => {
    const keycloak = hb.bed.keycloak;
    assert.ok(keycloak);
    const since = Date.now();
    const context = await hb.browser.newContext();
    const banners = await watchBanners(context);
    const page = await context.newPage();
    const headlamp = wayA.headlamp;
    await loginWayA(context, page, headlamp.url, "/c/main/configmaps");
    const first = await createConfigMap("way-a-0");
    await waitForText(page, first, 30_000).catch(async (error) => {
      throw new Error(
        `${(error as Error).message}\npage ${page.url()}: ${(await pageText(page)).slice(0, 2000)}\n` +
          `Headlamp's log: ${headlamp.logs().slice(-3000)}`,
      );
    });
    const loggedInAt = Date.now();
    log(`way A: logged in, the list shows ${first} (${((loggedInAt - since) / 1000).toFixed(1)} s)`);

    // Five token lifetimes from the login, frozen from 1.5 lifetimes for 80 s.
    const late = await keepListLive({
      page,
      label: "way-a",
      loggedInAt,
      lifespanSeconds: tokenLifespanSeconds,
      frozenMs,
      create: createConfigMap,
      log,
    });

    const events = await readAudit(wayA.auditFile);
    const seen = tokensSeen(events, "keycloak:testuser");
    // Headlamp's late refresh: the request that triggers a refresh still carries the old token
    // (RefreshAndSetToken in pkg/auth/auth.go sets the new one only in the cookie).
    const unauthorized = unauthorizedSince(events, loggedInAt);
    const refreshes = (await keycloak.admin.events("REFRESH_TOKEN")).filter(
      (e) => e.time >= since && e.clientId === keycloakClients.headlamp.id,
    );
    const logins = (await keycloak.admin.events("LOGIN")).filter((e) => e.time >= since);
    const codes = Object.entries(
      seen.codes.reduce<Record<number, number>>((acc, c) => {
        acc[c] = (acc[c] ?? 0) + 1;
        return acc;
      }, {}),
    );
    log(
      `way A report: ${banners.appearances.length} "Lost connection" banner(s) at ${JSON.stringify(
        banners.appearances.map((t) => `+${((t - loggedInAt) / 1000).toFixed(0)} s`),
      )}; ${logins.length} Keycloak login(s); ${refreshes.length} refresh(es) by Headlamp; ` +
        `${seen.jtis.size} distinct id tokens at the gateway; gateway answers to the user ${JSON.stringify(codes)}; ` +
        `${unauthorized.length} 401s (${JSON.stringify(unauthorized.map((e) => `${e.stageTimestamp} ${e.verb} ${e.requestURI}`).slice(0, 10))}); ` +
        `objects late (> 30 s): ${JSON.stringify(late)}`,
    );
    // Positive control of the banner counter: with the gateway gone, Headlamp's health check
    // (/healthz every 5 s, AlertNotification.tsx) fails and the banner must be counted.
    const before = banners.appearances.length;
    await wayA.gateway.gateway.stop();
    const controlSeen = await bannerAppears(banners, before, 30_000);
    await context.close();

    assert.ok(controlSeen, "the banner counter saw the banner once the API was gone");
    assert.deepEqual(late, [], "every object appeared in the list without a reload");
    assert.ok(refreshes.length >= 1, `Headlamp refreshed its tokens (${refreshes.length})`);
    assert.ok(
      seen.jtis.size >= 2,
      `the gateway authenticated the user with more than one id token: the refreshed ones (${seen.jtis.size})`,
    );
    assert.ok(
      seen.codes.filter((c) => c >= 200 && c < 300).length > 20,
      "the gateway answered the user's requests throughout",
    );
  });

  async function createConfigMap(name: string): Promise<string> {
    const result = await hb.bed.kubectl(["create", "configmap", name, "--namespace=default"]);
    assert.equal(result.code, 0, result.stderr);
    return name;
  }
});
