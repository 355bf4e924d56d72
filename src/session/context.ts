// What every login endpoint and the session front share: the parts, built once by the front,
// and the session cookie's reading and writing.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { createRemoteJWKSet } from "jose";
import type { Authenticator } from "../authn/authenticator.ts";
import type { SessionConfig } from "../config/session-config.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Upstream } from "../upstream/cluster.ts";
import { readCookies, setCookie } from "./cookies.ts";
import type { IssuerClient } from "./issuer-client.ts";
import type { SessionRefresher } from "./refresher.ts";
import type { Sealer } from "./sealer.ts";
import type { SessionSockets } from "./session-sockets.ts";
import type { SessionRecord, Sessions } from "./sessions.ts";

export type BrowserRequest = IncomingMessage | Http2ServerRequest;

export interface SessionContext {
  readonly config: SessionConfig;
  readonly issuer: IssuerClient;
  readonly sessions: Sessions;
  readonly refresher: SessionRefresher;
  readonly sockets: SessionSockets;
  readonly authenticator: Pick<Authenticator, "authenticate">;
  readonly upstream: Upstream;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly cookieSealer: Sealer;
  readonly loginSealer: Sealer;
  /** The issuer's signing keys, for logout tokens. */
  readonly issuerKeys: () => Promise<ReturnType<typeof createRemoteJWKSet>>;
}

/** Login-state cookies carry part of the state in their name, so parallel logins don't collide. */
export const loginCookiePrefix = "__Host-kog-login-";
export const loginCookieName = (state: string) => `${loginCookiePrefix}${state.slice(0, 12)}`;

/** Whether a cookie is one of the gateway's own (never forwarded to an upstream). */
export function isGatewayCookie(context: Pick<SessionContext, "config">, name: string): boolean {
  return name === context.config.cookieName || name.startsWith(loginCookiePrefix);
}

/** The session the request's cookie names, if it opens and the store still has it. */
export async function currentSession(context: SessionContext, req: BrowserRequest): Promise<SessionRecord | undefined> {
  const value = readCookies(req.headers.cookie).get(context.config.cookieName);
  if (!value) return undefined;
  const payload = await context.cookieSealer.open(value);
  if (typeof payload?.s !== "string") return undefined;
  return context.sessions.get(payload.s);
}

export async function sessionCookie(context: SessionContext, record: SessionRecord): Promise<string> {
  const sealed = await context.cookieSealer.seal({ s: record.id }, record.expiresAt);
  return setCookie(context.config.cookieName, sealed, (record.expiresAt - Date.now()) / 1000);
}

export const clearSessionCookie = (context: SessionContext) => setCookie(context.config.cookieName, "", 0);

/** What a UI needs to know about a session (never a token). */
export async function sessionSummary(context: SessionContext, record: SessionRecord) {
  const { user } = await context.authenticator.authenticate(record.idToken);
  return {
    authenticated: true,
    user: { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra },
    issuer: record.issuer,
    subject: record.subject,
    expiresAt: new Date(record.idTokenExpiresAt).toISOString(),
    refreshAt: new Date(context.refresher.dueAt(record)).toISOString(),
    sessionExpiresAt: new Date(record.expiresAt).toISOString(),
    refreshes: record.refreshes,
  };
}
