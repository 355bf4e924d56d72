// docs/headlamp.md way A, the incident's setup: Headlamp logs users in at Keycloak itself
// (-oidc-* flags) and runs in-cluster with the gateway as its API (bearer id tokens at /, a
// gateway without sessions).
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { gatewayReady, type RunningGateway, startTestGateway } from "../../testbed/gateway.ts";
import { keycloakClients, keycloakUsers } from "../../testbed/keycloak/keycloak.ts";
import { type RunningHeadlamp, startHeadlamp } from "../../testbed/peers/headlamp.ts";
import { freePort } from "../../testbed/ports.ts";
import { type HeadlampBed, log } from "./headlamp-bed.ts";

export interface WayA {
  readonly gateway: RunningGateway;
  readonly headlamp: RunningHeadlamp;
  readonly auditFile: string;
  stop(): Promise<void>;
}

export async function startWayA(hb: HeadlampBed): Promise<WayA> {
  const keycloak = hb.bed.keycloak;
  assert.ok(keycloak);
  const auditFile = join(hb.bed.dir, "gateway-audit.log");
  const gateway = await startTestGateway(hb.credentials, [
    `--authentication-config=${hb.authenticationConfig}`,
    ...(await hb.auditFlags(auditFile)),
  ]);
  await gatewayReady(gateway);
  const port = await freePort();
  // The redirect URI Headlamp sends: http://<Host it was reached at>/oidc-callback
  // (getOidcCallbackURL in cmd/headlamp.go), registered exactly, port included.
  await keycloak.admin.updateClient(keycloakClients.headlamp.id, {
    fields: { redirectUris: [`http://127.0.0.1:${port}/oidc-callback`] },
  });
  const headlamp = await startHeadlamp(hb.build, {
    port,
    apiHost: "127.0.0.1",
    apiPort: gateway.gateway.address.port,
    caPem: hb.bed.ca.certPem,
    saToken: hb.saToken,
    namespace: "default",
    dir: join(hb.bed.dir, "headlamp"),
    log,
    oidc: {
      issuerUrl: keycloak.issuerUrl,
      clientId: keycloakClients.headlamp.id,
      clientSecret: keycloakClients.headlamp.secret,
      // Keycloak has no `groups` scope (asking for it fails the login with invalid_scope): the
      // client's group membership mapper puts the claim in the id token without one.
      scopes: "profile,email",
      caPem: hb.bed.ca.certPem,
      usePkce: true, // the client requires S256 PKCE; without it Keycloak answers invalid_request
    },
  });
  return {
    gateway,
    headlamp,
    auditFile,
    stop: async () => {
      await headlamp.stop();
      await gateway.gateway.stop().catch(() => {}); // a test may have stopped it already
    },
  };
}

/**
 * Logs the test user in through Headlamp's login chooser: "Sign In" opens Keycloak in a popup
 * (frontend/src/components/oidcauth/OauthPopup.tsx); its /oidc-callback sets the token cookie and
 * /auth tells the opener through localStorage. Then opens `path`.
 */
export async function loginWayA(context: BrowserContext, page: Page, headlampUrl: string, path: string) {
  await page.goto(`${headlampUrl}${path}`);
  const [popup] = await Promise.all([
    context.waitForEvent("page", { timeout: 60_000 }),
    page.getByRole("button", { name: "Sign In" }).click({ timeout: 60_000 }),
  ]);
  await popup.waitForSelector("#username", { timeout: 30_000 }); // Keycloak's login page
  await popup.fill("#username", keycloakUsers.testuser.username);
  await popup.fill("#password", keycloakUsers.testuser.password);
  await popup.click("#kc-login");
  await popup.waitForEvent("close", { timeout: 30_000 }).catch(() => {});
  await page.goto(`${headlampUrl}${path}`);
}
