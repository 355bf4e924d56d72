// The browser-session front, composed: it sits before the API pipeline when --session-client-id
// is set. Reads top to bottom: the parts (store, sealers, issuer client, refresher, sockets),
// then routing — /oauth2/* login endpoints; the API (at / or under --session-api-prefix), by
// bearer token as before or by session cookie; everything else to the dashboard with the
// session's token. A missing or dead session gets a JSON 401 (a Status on API paths) unless the
// request is a page navigation, which is sent to the login.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { createRemoteJWKSet, customFetch } from "jose";
import { goHeaderGet } from "../apiserver/source-ips.ts";
import type { Authenticator } from "../authn/authenticator.ts";
import type { SessionConfig } from "../config/session-config.ts";
import type { AccessLog } from "../observability/access-log.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type ApiProxy, isLongRunning } from "../proxy/api-proxy.ts";
import { DashboardProxy } from "../proxy/dashboard-proxy.ts";
import { asStatusError, rawHttpResponse, StatusError, toStatus, unauthorized } from "../proxy/status.ts";
import type { Upstream } from "../upstream/cluster.ts";
import { isNavigation, isSameOrigin } from "./browser-request.ts";
import {
  type BrowserRequest,
  clearSessionCookie,
  currentSession,
  isGatewayCookie,
  type SessionContext,
  sessionCookie,
} from "./context.ts";
import { readCookies } from "./cookies.ts";
import { backchannelLogout } from "./endpoints/backchannel-logout.ts";
import { finishLogin } from "./endpoints/callback.ts";
import { startLogin } from "./endpoints/login.ts";
import { logout } from "./endpoints/logout.ts";
import { sessionInfo } from "./endpoints/session-info.ts";
import { whoamiPage } from "./endpoints/whoami.ts";
import { SessionError } from "./errors.ts";
import { IssuerClient } from "./issuer-client.ts";
import { MemoryStore } from "./memory-store.ts";
import { RedisStore } from "./redis-store.ts";
import { SessionRefresher } from "./refresher.ts";
import { type Response, sendJson } from "./responses.ts";
import { Sealer } from "./sealer.ts";
import { SessionSockets } from "./session-sockets.ts";
import { type SessionRecord, Sessions } from "./sessions.ts";
import type { SessionStore } from "./store.ts";

export interface SessionFrontOptions {
  readonly config: SessionConfig;
  readonly authenticator: Pick<Authenticator, "authenticate">;
  readonly upstream: Upstream;
  readonly proxy: ApiProxy;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The access log (--access-log): API requests are written by the API pipeline, the rest here. */
  readonly accessLog?: AccessLog;
}

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class SessionFront {
  readonly #context: SessionContext;
  readonly #store: SessionStore;
  readonly #proxy: ApiProxy;
  readonly #dashboard: DashboardProxy | undefined;
  readonly #origin: string;
  readonly #accessLog: AccessLog | undefined;

  private constructor(context: SessionContext, store: SessionStore, proxy: ApiProxy, accessLog: AccessLog | undefined) {
    this.#context = context;
    this.#store = store;
    this.#proxy = proxy;
    this.#accessLog = accessLog;
    this.#origin = new URL(context.config.externalUrl).origin;
    const dashboard = context.config.dashboard;
    this.#dashboard = dashboard
      ? new DashboardProxy({
          url: dashboard.url,
          ca: dashboard.ca,
          isGatewayCookie: (name) => isGatewayCookie(context, name),
          onError: (error) => context.logger.warn("dashboard upstream failed", { error: error.message }),
        })
      : undefined;
  }

  static async create(options: SessionFrontOptions): Promise<SessionFront> {
    const { config, logger, metrics } = options;
    const store: SessionStore =
      config.store.kind === "redis"
        ? await RedisStore.connect({
            ...config.store.connection,
            onError: (error) => logger.warn("session store error", { error: error.message }),
          })
        : new MemoryStore();
    const issuer = new IssuerClient(config);
    // Discover now and retry until it works: readiness waits for the login issuer.
    issuer.start(10_000, (error) =>
      logger.warn("login issuer discovery failed; retrying in 10s", { issuer: config.issuerUrl, error: error.message }),
    );
    const sessions = new Sessions(store, config.cookieSecrets, config.maxLifetimeMs);
    const refresher = new SessionRefresher({
      sessions,
      issuer,
      refreshAheadMs: config.refreshAheadMs,
      onRefresh: (outcome, error) => {
        metrics.sessionRefreshes.inc({ outcome });
        if (error) logger.warn("session refresh failed", { outcome, error: (error as Error).message });
      },
    });
    const sockets = new SessionSockets(sessions, refresher, (_id, count, why) => {
      metrics.sessionSocketsClosed.inc({}, count);
      logger.info("closed the streams of an ended session", { streams: count, why });
    });
    let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
    const context: SessionContext = {
      config,
      issuer,
      sessions,
      refresher,
      sockets,
      authenticator: options.authenticator,
      upstream: options.upstream,
      logger,
      metrics,
      cookieSealer: new Sealer(config.cookieSecrets, "session-cookie"),
      loginSealer: new Sealer(config.cookieSecrets, "login-state"),
      issuerKeys: async () => {
        if (keys) return keys;
        const jwksUri = (await issuer.configuration()).serverMetadata().jwks_uri;
        if (!jwksUri) throw new Error("the login issuer publishes no jwks_uri");
        keys = createRemoteJWKSet(new URL(jwksUri), { [customFetch]: issuer.fetch });
        return keys;
      },
    };
    return new SessionFront(context, store, options.proxy, options.accessLog);
  }

  /** Why sessions cannot work now (readiness); empty when they can. */
  notReady(): string[] {
    return [this.#store.notReadyReason, this.#context.issuer.notReadyReason].filter((r): r is string => !!r);
  }

  get openStreams(): number {
    return this.#context.sockets.size;
  }

  async close(): Promise<void> {
    this.#context.sockets.closeAll();
    this.#context.issuer.close();
    this.#dashboard?.close();
    await this.#store.close();
  }

  /** The API path for a request URL, or undefined when it is a dashboard path. */
  #apiPath(url: string): string | undefined {
    const prefix = this.#context.config.apiPrefix;
    if (!this.#dashboard || prefix === "") return url;
    if (url === prefix || url.startsWith(`${prefix}?`)) return `/${url.slice(prefix.length)}`;
    if (url.startsWith(`${prefix}/`)) return url.slice(prefix.length);
    return undefined;
  }

  /**
   * The access log's line for a login endpoint or dashboard request, when it ends (API requests
   * get theirs from the API pipeline). The path without its query: the callback's carries the
   * authorization code. The session's subject, not a token, says whose it was.
   */
  #logAccess(
    req: BrowserRequest,
    res: Response,
    path: string,
    route: "login" | "dashboard",
    started: number,
  ): (record: SessionRecord) => void {
    const accessLog = this.#accessLog;
    let subject: string | undefined;
    if (!accessLog) return () => {};
    res.once("close", () =>
      accessLog.write(
        {
          status: (res as import("node:http").ServerResponse).statusCode,
          completed: res.writableFinished,
          started,
        },
        () => ({
          before: {
            requestId: goHeaderGet(req.rawHeaders, "audit-id") || randomUUID(),
            client: req.socket?.remoteAddress,
            route,
            ...(subject ? { sub: subject } : {}),
            method: req.method,
            path,
            protocol: `HTTP/${req.httpVersion}`,
          },
        }),
      ),
    );
    // Tells the line whose session served the request.
    return (record) => {
      subject = record.subject;
    };
  }

  async handleRequest(req: BrowserRequest, res: Response): Promise<void> {
    const started = performance.now();
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    try {
      if (path.startsWith("/oauth2/")) {
        this.#logAccess(req, res, path, "login", started);
        return await this.#endpoint(path, method, req, res);
      }
      const apiPath = this.#apiPath(url);
      if (apiPath !== undefined && req.headers.authorization !== undefined) {
        return await this.#proxy.handleRequest(req, res, { path: apiPath });
      }
      const served = apiPath === undefined ? this.#logAccess(req, res, path, "dashboard", started) : undefined;
      // API requests must be same-origin whatever the method (see isSameOrigin); the dashboard's
      // own pages may be reached by a cross-site link, so there only unsafe methods must.
      const { record, refreshed } = await this.#session(req, apiPath !== undefined || unsafeMethods.has(method));
      served?.(record);
      // A refresh may extend the session: the cookie's Max-Age follows.
      if (refreshed) res.setHeader("set-cookie", await sessionCookie(this.#context, record));
      if (apiPath !== undefined) {
        if (isLongRunning(apiPath)) this.#context.sockets.add(record, res);
        return await this.#proxy.handleRequest(req, res, { token: record.idToken, path: apiPath });
      }
      this.#dashboard?.handleRequest(req, res, this.#dashboardToken(record));
    } catch (error) {
      this.#failure(error, req, res, this.#apiPath(url) !== undefined);
    }
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = req.url ?? "/";
    const apiPath = this.#apiPath(url);
    socket.on("error", () => socket.destroy());
    try {
      const hasToken =
        req.headers.authorization !== undefined ||
        String(req.headers["sec-websocket-protocol"] ?? "").includes("base64url.bearer.authorization.k8s.io.");
      if (apiPath !== undefined && hasToken)
        return await this.#proxy.handleUpgrade(req, socket, head, { path: apiPath });
      // SameSite=Lax does not keep cookies off cross-site WebSockets: the origin must be ours.
      const { record } = await this.#session(req, true);
      this.#context.sockets.add(record, socket);
      if (apiPath !== undefined) {
        return await this.#proxy.handleUpgrade(req, socket, head, { token: record.idToken, path: apiPath });
      }
      this.#dashboard?.handleUpgrade(req, socket, head, this.#dashboardToken(record));
    } catch (error) {
      const status = this.#status(error);
      socket.end(rawHttpResponse(toStatus(status)));
    }
  }

  /** The request's session with tokens fit to forward, and whether getting them took a refresh. */
  async #session(
    req: BrowserRequest,
    requireSameOrigin: boolean,
  ): Promise<{ record: SessionRecord; refreshed: boolean }> {
    if (requireSameOrigin && !isSameOrigin(req.headers, this.#origin)) {
      // Without the session cookie nothing is at stake: the answer is the 401 of no session.
      if (!readCookies(req.headers.cookie).has(this.#context.config.cookieName)) {
        throw new SessionError("NO_SESSION", "no session cookie");
      }
      throw new SessionError("CROSS_SITE", "a cookie-authenticated request from another origin");
    }
    const current = await currentSession(this.#context, req);
    if (!current) throw new SessionError("NO_SESSION", "no valid session cookie");
    const record = await this.#context.refresher.fresh(current);
    return { record, refreshed: record !== current };
  }

  #dashboardToken(record: SessionRecord): string {
    return this.#context.config.dashboard?.token === "access" ? record.accessToken : record.idToken;
  }

  async #endpoint(path: string, method: string, req: BrowserRequest, res: Response): Promise<void> {
    const context = this.#context;
    const route = `${method === "HEAD" ? "GET" : method} ${path}`;
    switch (route) {
      case "GET /oauth2/start":
        return startLogin(context, req, res);
      case "GET /oauth2/callback":
        return finishLogin(context, req, res);
      case "GET /oauth2/sign_out":
      case "POST /oauth2/sign_out":
        return logout(context, req, res);
      case "GET /oauth2/session":
        return sessionInfo(context, req, res, false);
      case "POST /oauth2/refresh":
        return sessionInfo(context, req, res, true);
      case "POST /oauth2/backchannel-logout":
        return backchannelLogout(context, req, res);
      case "GET /oauth2/whoami":
        if (context.config.whoamiPage) return whoamiPage(context, req, res);
    }
    sendJson(res, 404, { error: "not_found", message: `no endpoint ${method} ${path}` });
  }

  #status(error: unknown): StatusError {
    if (!(error instanceof SessionError)) {
      this.#context.logger.error("session request failed", { error: String(error) });
      return asStatusError(error);
    }
    this.#context.logger.info("session refused", { reason: error.code, detail: error.message });
    switch (error.code) {
      case "CROSS_SITE":
        return new StatusError("CROSS_SITE", 403, "Forbidden", "cross-site requests may not use the session cookie");
      case "REFRESH_UNAVAILABLE":
      case "STORE_UNAVAILABLE":
        return new StatusError(
          error.code,
          503,
          "ServiceUnavailable",
          "the session could not be checked or refreshed; retry shortly",
        );
      default:
        return unauthorized();
    }
  }

  #failure(error: unknown, req: BrowserRequest, res: Response, api: boolean): void {
    const status = this.#status(error);
    if (res.headersSent) return void res.destroy();
    const ended = status.httpStatus === 401;
    const cookies = ended ? [clearSessionCookie(this.#context)] : [];
    if (ended && !api && isNavigation(req.method ?? "GET", req.headers)) {
      const rd = encodeURIComponent(req.url ?? "/");
      (res as import("node:http").ServerResponse).writeHead(302, {
        location: `/oauth2/start?rd=${rd}`,
        "cache-control": "no-store",
        "set-cookie": cookies,
      });
      return void res.end();
    }
    if (api) {
      const response = toStatus(status);
      (res as import("node:http").ServerResponse).writeHead(response.status, {
        ...response.headers,
        "set-cookie": cookies,
      });
      return void res.end(response.body);
    }
    sendJson(
      res,
      status.httpStatus,
      { error: status.code.toLowerCase(), message: status.message, loginUrl: ended ? "/oauth2/start" : undefined },
      cookies,
    );
  }
}
