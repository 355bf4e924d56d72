// docs/headlamp.md way B as one deployment: the gateway's login in front of the real Headlamp
// (--session-* + --dashboard-upstream on the main port) and Headlamp's in-cluster API on the same
// gateway's --api-port; Headlamp runs without -oidc-* flags and sends on the Authorization header
// the gateway gives each request (ParseClusterAndToken in backend/pkg/auth/auth.go: the header
// first, its own cookie only when there is none).
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { gatewayReady, type RunningGateway, sessionGatewayFlags, startTestGateway } from "../../testbed/gateway.ts";
import { keycloakClients } from "../../testbed/keycloak/keycloak.ts";
import { type RunningHeadlamp, startHeadlamp } from "../../testbed/peers/headlamp.ts";
import { freePort } from "../../testbed/ports.ts";
import { type HeadlampBed, log } from "./headlamp-bed.ts";

export interface WayBGateway {
  readonly gateway: RunningGateway;
  readonly port: number;
  readonly apiPort: number;
}

/** A gateway with sessions in front of `headlampPort` and the bearer API on its own port. */
export async function startWayBGateway(
  hb: HeadlampBed,
  options: {
    headlampPort: number;
    externalUrl?: string;
    redisUrl?: string;
    auditFile?: string;
    port?: number;
    apiPort?: number;
  },
): Promise<WayBGateway> {
  const port = options.port ?? (await freePort());
  const apiPort = options.apiPort ?? (await freePort());
  const keycloak = hb.bed.keycloak;
  assert.ok(keycloak);
  const flags = await sessionGatewayFlags(hb.bed, {
    port,
    apiPort,
    externalUrl: options.externalUrl,
    issuerUrl: keycloak.issuerUrl,
    clientId: keycloakClients.gateway.id,
    clientSecret: keycloakClients.gateway.secret,
    redisUrl: options.redisUrl,
    dashboardUrl: `http://127.0.0.1:${options.headlampPort}`,
  });
  const gateway = await startTestGateway(hb.credentials, [
    `--authentication-config=${hb.authenticationConfig}`,
    ...(options.auditFile ? await hb.auditFlags(options.auditFile) : []),
    ...flags,
  ]);
  await gatewayReady(gateway);
  return { gateway, port, apiPort };
}

/** The gateway's client at Keycloak: its callback, logout target and back-channel logout. */
export async function registerGatewayAtKeycloak(hb: HeadlampBed, externalUrl: string): Promise<void> {
  await hb.bed.keycloak?.admin.updateClient(keycloakClients.gateway.id, {
    fields: { redirectUris: [`${externalUrl}/*`] },
    attributes: {
      "post.logout.redirect.uris": "+",
      "backchannel.logout.url": `${externalUrl}/oauth2/backchannel-logout`,
      "backchannel.logout.session.required": "true",
    },
  });
}

/** Headlamp in-cluster, no -oidc-* flags, its API the gateway's --api-port (or a balancer's port). */
export function startWayBHeadlamp(
  hb: HeadlampBed,
  options: { port: number; apiPort: number; name?: string },
): Promise<RunningHeadlamp> {
  return startHeadlamp(hb.build, {
    port: options.port,
    apiHost: "127.0.0.1",
    apiPort: options.apiPort,
    caPem: hb.bed.ca.certPem,
    saToken: hb.saToken,
    namespace: "default",
    dir: join(hb.bed.dir, options.name ?? "headlamp"),
    log,
  });
}

export interface LoginWatch {
  /** Requests the pages made to the gateway's /oauth2/start (each one a login begun). */
  readonly starts: string[];
  /** Navigations to Keycloak's authorization endpoint (its login page, or SSO passing through). */
  readonly keycloakPages: string[];
}

/** Records every login the context's pages begin, at the gateway and at Keycloak. */
export function watchLogins(context: BrowserContext, keycloakUrl: string): LoginWatch {
  const watch: LoginWatch = { starts: [], keycloakPages: [] };
  context.on("request", (request) => {
    const url = request.url();
    if (new URL(url).pathname === "/oauth2/start") watch.starts.push(url);
    if (
      request.isNavigationRequest() &&
      url.startsWith(keycloakUrl) &&
      new URL(url).pathname.endsWith("/protocol/openid-connect/auth")
    )
      watch.keycloakPages.push(url);
  });
  return watch;
}

/** Opens `path` behind the gateway: Keycloak's login page, then back to `path`. */
export async function loginAt(
  page: Page,
  externalUrl: string,
  path: string,
  keycloakUrl: string,
  user: { username: string; password: string },
): Promise<void> {
  await page.goto(`${externalUrl}${path}`);
  await page.waitForURL((u) => u.href.startsWith(keycloakUrl), { timeout: 30_000 });
  await page.fill("#username", user.username);
  await page.fill("#password", user.password);
  await page.click("#kc-login");
  await page.waitForURL((u) => u.href.startsWith(externalUrl), { timeout: 30_000 });
}
