// The request pipeline of `serve`, top to bottom:
//   refuse client Impersonate-* → find the token → authenticate → build the upstream headers
//   (gateway credentials + Impersonate-*) → stream to the API server and back,
// for ordinary requests (HTTP/1.1 and HTTP/2) and for upgrades (exec, attach, port-forward:
// SPDY or WebSocket over HTTP/1.1), which pass byte for byte once switched.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type BlockList, isIP } from "node:net";
import type { Duplex, Readable } from "node:stream";
import { outputNegotiable } from "../apiserver/accept-negotiation.ts";
import { bearerToken, isWebSocketUpgrade, websocketProtocolToken } from "../apiserver/credentials.ts";
import {
  clientImpersonationHeader,
  escapeExtraKey,
  headerRefusal,
  headerValue,
  impersonationHeaders,
  isExtraWithheld,
} from "../apiserver/impersonation-headers.ts";
import { requestAttributes } from "../apiserver/request-info.ts";
import { goHeaderGet, isTrustedProxy, sourceIps, trustedProxyList } from "../apiserver/source-ips.ts";
import {
  BodyCapture,
  CaptureBudget,
  capturedRequestBody,
  isJsonMediaType,
  requestCaptureLimit,
  responseCaptureLimit,
} from "../audit/body-capture.ts";
import { nowUs } from "../audit/encode.ts";
import { type Auditor, RequestAudit } from "../audit/request-audit.ts";
import type { PolicyAttributes } from "../audit/types.ts";
import type { Authenticator } from "../authn/authenticator.ts";
import { AuthenticationError } from "../authn/errors.ts";
import type { TokenReviewer } from "../authn/token-review.ts";
import type { UserInfo } from "../authn/user.ts";
import { ConfigError } from "../config/errors.ts";
import { type AccessLog, withoutQuery } from "../observability/access-log.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Upstream } from "../upstream/cluster.ts";
import {
  UpstreamRequestInvalid,
  type UpstreamResponse,
  UpstreamResponseTooLarge,
  UpstreamTimeoutError,
} from "../upstream/exchange.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "./headers.ts";
import { type ImpersonationAuthorizer, requestedImpersonation } from "./nested-impersonation.ts";
import { rawHttpResponse, StatusError, type StatusResponse, toStatus, unauthorized } from "./status.ts";
import { isStreamUpgrade, relayRefusedUpgrade, spliceUpgrade } from "./upgrade-relay.ts";

type ClientRequest = IncomingMessage | Http2ServerRequest;
type ClientResponse = ServerResponse | Http2ServerResponse;

export interface ApiProxyOptions {
  readonly authenticator: Pick<Authenticator, "authenticate">;
  /** Present when token passthrough is on. */
  readonly tokenReviewer?: TokenReviewer;
  /** Present when nested impersonation is on. */
  readonly impersonationAuthorizer?: ImpersonationAuthorizer;
  /** Present with --audit-policy-file and a backend: kube-apiserver's audit events for each request. */
  readonly auditor?: Auditor;
  readonly upstream: Upstream;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Addresses and CIDR ranges whose X-Forwarded-For is believed (--trusted-proxies). */
  readonly trustedProxies: readonly string[];
  readonly responseTimeoutMs: number;
  /** The access log (one info line per request, at its end); absent: off. */
  readonly accessLog?: AccessLog;
  /**
   * kube-oidc-proxy's --disable-impersonation: the token is still verified by the gateway, then
   * forwarded as it came, without the gateway's credentials and without Impersonate-* headers.
   */
  readonly disableImpersonation?: boolean;
  /** kube-oidc-proxy's --extra-user-header-client-ip: the extra `remote-client-ip` on every impersonated user. */
  readonly extraUserHeaderClientIp?: boolean;
  /** kube-oidc-proxy's --extra-user-headers: extra keys and values added to every impersonated user. */
  readonly extraUserHeaders?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The extra key kube-oidc-proxy v0.3.0 writes the client's address under (pkg/proxy/proxy.go
 * UserHeaderClientIPKey, "Remote-Client-IP"); kube-apiserver lower-cases extra keys read from
 * Impersonate-Extra-* headers, so the API server sees `remote-client-ip`.
 */
export const clientIpExtraKey = "remote-client-ip";

const extraHeaderName = (key: string) =>
  `Impersonate-Extra-${escapeExtraKey(key.replace(/[A-Z]/g, (c) => c.toLowerCase()))}`;

/**
 * sebest/xff's IsPublicIP (xff.go): Go's net.IP.IsGlobalUnicast (not unspecified, loopback,
 * multicast, link-local nor the IPv4 broadcast address) and outside its private ranges
 * 127/8, 10/8, 172.16/12, 192.168/16 and fc00::/7.
 */
function isPublicIp(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) {
    if (ip === "0.0.0.0" || ip === "255.255.255.255") return false;
    return !/^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|22[4-9]\.|23\d\.)/.test(ip);
  }
  if (family === 6) return !/^(::1?$|fe[89ab][0-9a-f]:|ff|f[cd][0-9a-f]{2}:)/i.test(ip);
  return false;
}

/** Go's net.JoinHostPort. */
const joinHostPort = (host: string, port: number | undefined) =>
  `${host.includes(":") ? `[${host}]` : host}:${port ?? 0}`;

/**
 * The client address kube-oidc-proxy v0.3.0 puts in `remote-client-ip`: Go's
 * `http.Request.RemoteAddr` ("host:port") as github.com/sebest/xff GetRemoteAddr resolves it
 * (pkg/proxy/context/context.go RemoteAddr): when the request has an X-Forwarded-For, its first
 * public address (xff.go Parse) with the connection's port. kube-oidc-proxy believes any client's
 * X-Forwarded-For; the gateway reads it only from --trusted-proxies, or a client could name any
 * address it liked.
 */
export function clientRemoteAddr(
  remoteAddress: string | undefined,
  remotePort: number | undefined,
  forwardedFor: string | undefined,
): string {
  const address = (remoteAddress ?? "").replace(/^::ffff:(?=\d+\.)/, "");
  if (forwardedFor) {
    for (const entry of forwardedFor.split(",")) {
      const ip = entry.trim();
      if (isPublicIp(ip)) return joinHostPort(ip, remotePort);
    }
  }
  return joinHostPort(address, remotePort);
}

/**
 * How the browser-session front hands a request on: `path` is the API path (the session's API
 * prefix removed) and `token`, when the request was authenticated by its session cookie, is the
 * session's id token standing in for a bearer token.
 */
export interface SessionCredentials {
  readonly token?: string;
  readonly path: string;
}

interface Authorized {
  /** Who the token is. */
  readonly user: UserInfo;
  /** With nested impersonation: whom the request acts as (an audit event's impersonatedUser). */
  readonly impersonated?: UserInfo;
  readonly headers: string[];
}

/**
 * Requests whose response is a long-lived stream: kube-apiserver's BasicLongRunningRequestCheck
 * (k8s.io/apiserver@v0.37.2 pkg/server/filters/longrunning.go, given the verbs watch and proxy and
 * the subresources attach, exec, proxy, log and portforward by kube-apiserver's config), read
 * cheaply on the hot path: a `watch` parameter counts as requestinfo.go reads it (anything but
 * "0" or "false" is a watch).
 */
export function isLongRunning(url: string): boolean {
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  if (path.includes("/watch/") || /\/(exec|attach|portforward|proxy|log)(\/|$)/.test(path)) return true;
  if (query === -1) return false;
  const watch = new URLSearchParams(url.slice(query + 1)).get("watch");
  return watch !== null && !/^(0|false)$/i.test(watch);
}

/**
 * kube-oidc-proxy's --flush-interval (default 50ms) is httputil.ReverseProxy's FlushInterval
 * (kube-oidc-proxy v0.3.0 pkg/proxy/proxy.go Run): Go's proxy buffers the response body and
 * flushes it to the client at that interval (a negative one flushes after every write). The relay
 * below holds nothing back: each chunk the API server sends is written to the client as it
 * arrives, which is Go's -1, and so meets every interval the flag can ask for. The flag is read
 * (ServeConfig.proxy.flushIntervalMs) and changes nothing: waiting to batch writes would only delay
 * watch events. (Go's 0, "no periodic flush", held data until its buffer filled; the gateway
 * does not reproduce that either.)
 *
 * Copies the upstream body to the client with backpressure. Neither pipeline() (an
 * AbortController and a DOMException with a stack for every stream it finishes: 7% of the
 * gateway's CPU per request in bench/ profiles) nor pipe() (nine listeners and closures per
 * stream, held for the life of every watch: 1.2 KiB of heap per watch): three listeners do it.
 */
function relay(body: Readable, res: ServerResponse, sent?: { bytesOut: number }): void {
  body.on("data", (chunk: Buffer) => {
    if (sent) sent.bytesOut += chunk.length;
    if (!res.write(chunk)) body.pause();
  });
  res.on("drain", () => body.resume());
  body.once("end", () => res.end());
}

/** Connection errors that mean no exchange with the API server began. */
const unreachable = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);

/**
 * Whether a client request carries a body to forward: HTTP/1.1 says so with Content-Length or
 * Transfer-Encoding (RFC 9112 §6.3), HTTP/2 by not ending the stream with its headers.
 */
function hasBody(req: ClientRequest): boolean {
  if ("stream" in req) return !req.stream.endAfterHeaders;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

const clientAuditId = (rawHeaders: readonly string[]) => goHeaderGet(rawHeaders, "audit-id");

/** What an audit policy rule is matched against, from kube-apiserver's own request attributes. */
function policyAttributes(method: string, path: string, user: UserInfo | undefined): PolicyAttributes {
  let attributes: ReturnType<typeof requestAttributes>;
  try {
    attributes = requestAttributes(method, path);
  } catch {
    attributes = { resourceRequest: false, verb: method.toLowerCase(), path: path.split("?")[0] ?? "" };
  }
  const who = user ? { username: user.username, groups: user.groups } : undefined;
  if (!attributes.resourceRequest) {
    return { user: who, verb: attributes.verb, resourceRequest: false, path: attributes.path };
  }
  return {
    user: who,
    verb: attributes.verb,
    resourceRequest: true,
    apiGroup: attributes.group,
    apiVersion: attributes.version,
    resource: attributes.resource,
    subresource: attributes.subresource,
    namespace: attributes.namespace,
    name: attributes.name,
  };
}

/** kube-apiserver echoes the audit ID on every response (filters/audit_init.go); so does the gateway on its own. */
const withAuditId = (response: StatusResponse, auditId: string): StatusResponse => ({
  ...response,
  headers: { ...response.headers, "audit-id": auditId },
});

/** blocking-strict: kube-apiserver fails a request whose event cannot be stored (filters/audit.go). */
const auditStoreFailed = () =>
  new StatusError("AUDIT_STORE_FAILED", 500, "InternalError", "Internal error occurred: failed to store audit event");

const authenticatedGroup = "system:authenticated";

/**
 * filters/authn_audit.go getAuthMethods: the credentials a request whose authentication failed
 * tried, as its audit event says them.
 */
function authMethods(req: ClientRequest): string {
  const methods: string[] = [];
  const authorization = (req.headers.authorization ?? "").trim();
  // req.BasicAuth(): "Basic " (any case) and base64 of user:password with a colon.
  if (/^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6), "base64");
    const valid = /^[A-Za-z0-9+/]*={0,2}$/.test(authorization.slice(6)) && authorization.slice(6).length % 4 === 0;
    if (valid && decoded.includes(0x3a)) methods.push("basic");
  }
  const parts = authorization.split(" ");
  if (parts.length > 1 && parts[0]?.toLowerCase() === "bearer") methods.push("bearer");
  const query = (req.url ?? "").indexOf("?");
  if (query !== -1 && (new URLSearchParams((req.url ?? "").slice(query + 1)).get("access_token") ?? "").trim() !== "") {
    methods.push("access_token");
  }
  return methods.length > 0
    ? `Authentication failed, attempted: ${methods.join(", ")}`
    : "Authentication failed, no credentials provided";
}

/**
 * Whether the API server got as far as its handler, which decodes the body and logs it
 * (LogRequestObject): not when a filter before it refused the request (authentication 401,
 * authorization 403, priority and fairness 429) nor when the handler refused the media type or
 * method before decoding.
 */
const upstreamDecoded = (status: number | undefined) =>
  status !== undefined && ![401, 403, 405, 406, 413, 415, 429].includes(status);

/**
 * What the access log says of one request, filled in as the request goes. Never a token: the
 * user is the authenticated name, the path has no query (a query may carry a token, e.g.
 * access_token, or other secrets).
 */
interface AccessRecord {
  /** The connection's address, read when the request arrives (a closed socket no longer has one). */
  readonly client: string | undefined;
  user?: string;
  /** Under nested impersonation: whom the request acted as. */
  as?: string;
  status?: number;
  upstreamStatus?: number;
  bytesIn: number;
  bytesOut: number;
}

/** kube-apiserver's verb and resource of a request, for the access log. */
function accessAttributes(method: string, path: string): { verb: string; resource?: string; namespace?: string } {
  try {
    const attributes = requestAttributes(method, path);
    if (!attributes.resourceRequest) return { verb: attributes.verb };
    const resource = `${attributes.group ? `${attributes.resource}.${attributes.group}` : attributes.resource}${
      attributes.subresource ? `/${attributes.subresource}` : ""
    }`;
    return { verb: attributes.verb, resource, namespace: attributes.namespace || undefined };
  } catch {
    return { verb: method.toLowerCase() };
  }
}

/** Verbs whose body kube-apiserver decodes and logs (handlers create/update/patch/delete). */
const bodyVerbs = new Set(["create", "update", "patch", "delete", "deletecollection"]);

export class ApiProxy {
  readonly #options: ApiProxyOptions;
  /** Who was authenticated when a later check refused the request (for the audit log). */
  readonly #actors = new WeakMap<Error, UserInfo>();
  /** The bytes audit events' body copies may hold at once, across requests. */
  readonly #captureBudget = new CaptureBudget();
  /** Long-lived streams to end on shutdown. */
  readonly #streams = new Set<{ destroy(): void }>();

  /** --trusted-proxies. */
  readonly #trustedProxies: BlockList;

  /** The Impersonate-Extra-* lines of --extra-user-headers, written once, with their keys. */
  readonly #extraHeaders: readonly { readonly key: string; readonly header: readonly [string, string] }[];

  constructor(options: ApiProxyOptions) {
    this.#options = options;
    this.#trustedProxies = trustedProxyList(options.trustedProxies);
    const extra: { key: string; header: [string, string] }[] = [];
    for (const [key, values] of Object.entries(options.extraUserHeaders ?? {})) {
      for (const value of values) {
        const reason = headerRefusal(value);
        if (reason || key === "") {
          throw new ConfigError(
            "EXTRA_USER_HEADER",
            `--extra-user-headers ${JSON.stringify(key)}=${JSON.stringify(value)} cannot be sent: ${reason ?? "the key is empty"}`,
          );
        }
        extra.push({ key, header: [extraHeaderName(key), headerValue(value)] });
      }
    }
    this.#extraHeaders = extra;
  }

  /** Ends every open watch and upgraded connection (graceful shutdown, after the grace period). */
  closeStreams(): void {
    for (const stream of this.#streams) stream.destroy();
    this.#streams.clear();
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  /**
   * Checks the client's credentials and builds the headers for the API server.
   * Throws a StatusError for anything the client must be told.
   */
  async #authorize(
    req: IncomingMessage | Http2ServerRequest,
    upgrade: string | undefined,
    session: SessionCredentials | undefined,
    auditId: string,
  ): Promise<Authorized> {
    const impersonationHeader = clientImpersonationHeader(req.rawHeaders);
    const { disableImpersonation } = this.#options;
    const websocket = upgrade !== undefined && isWebSocketUpgrade(req.headers);
    let token = session?.token ?? bearerToken(req.headers.authorization);
    let websocketProtocols: string | undefined;
    if (websocket && session?.token === undefined) {
      const fromProtocol = websocketProtocolToken((req as IncomingMessage).headersDistinct["sec-websocket-protocol"]);
      if (fromProtocol) {
        websocketProtocols = fromProtocol.remaining;
        token ??= fromProtocol.token;
      }
    }
    if (!token) throw new AuthenticationError("NO_TOKEN", "no bearer token in the request");
    let { user, authorization, identity } = await this.#identify(token, auditId);
    let impersonated: UserInfo | undefined;
    const passthrough = identity.length === 0;
    // Refused after authentication, as kube-apiserver's impersonation filter runs after its
    // authentication (server/config.go DefaultBuildHandlerChain): a request without a valid token
    // is a 401 whatever else it carries, and the audit event of a refusal names who asked.
    if (impersonationHeader && !this.#options.impersonationAuthorizer && !disableImpersonation) {
      const refusal = new StatusError(
        "CLIENT_IMPERSONATION",
        403,
        "Forbidden",
        `impersonation is not allowed through this gateway: the request carries ${impersonationHeader}`,
      );
      this.#actors.set(refusal, user);
      throw refusal;
    }
    if (disableImpersonation) {
      // kube-oidc-proxy v0.3.0 (pkg/proxy/handlers.go withImpersonateRequest, proxy.go RoundTrip):
      // with --disable-impersonation, once the token is verified the request goes on with the
      // client's own Authorization header over a transport without the proxy's credentials, and
      // the client's Impersonate-* headers are not refused but go with it: the API server then
      // authorizes that impersonation for the token's own user. A token passed through after a
      // TokenReview (--token-passthrough) goes on the same way, its Impersonate-* with it.
      authorization = `Bearer ${token}`;
      const own: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] ?? "";
        if (name.toLowerCase().startsWith("impersonate-")) own.push([name, req.rawHeaders[i + 1] ?? ""]);
      }
      identity = own;
    } else if (impersonationHeader && this.#options.impersonationAuthorizer) {
      try {
        if (identity.length === 0) {
          throw new StatusError(
            "CLIENT_IMPERSONATION",
            403,
            "Forbidden",
            "impersonation is not allowed with a passed-through token",
          );
        }
        const requested = requestedImpersonation(req.rawHeaders);
        if (requested) {
          impersonated = await this.#options.impersonationAuthorizer.authorize(
            user,
            requested,
            requestAttributes(req.method ?? "GET", session?.path ?? req.url ?? "/"),
          );
          identity = impersonationHeaders(impersonated);
        }
      } catch (error) {
        if (error instanceof Error) this.#actors.set(error, user);
        throw error;
      }
    }
    const clientAddress = req.socket.remoteAddress;
    const trustForwarded = isTrustedProxy(this.#trustedProxies, clientAddress);
    if (!passthrough && !disableImpersonation) identity = this.#withExtras(identity, req, trustForwarded);
    const headers = upstreamRequestHeaders({
      rawHeaders: req.rawHeaders,
      upstreamHost: this.#options.upstream.url.host,
      authorization,
      identity,
      clientAddress,
      trustForwarded,
      upgrade,
      websocketProtocols,
      auditId,
    });
    return { user, impersonated, headers };
  }

  /**
   * The request's audit context (undefined: no auditing, or the policy records nothing for it).
   * `user` undefined: authentication failed.
   */
  #beginAudit(
    req: ClientRequest,
    auditID: string,
    path: string,
    receivedUs: number,
    user: UserInfo | undefined,
  ): RequestAudit | undefined {
    const { auditor } = this.#options;
    if (!auditor) return undefined;
    const method = req.method ?? "GET";
    const userAgent = req.headers["user-agent"];
    // kube-apiserver's authenticators add system:authenticated (group.AuthenticatedGroupAdder)
    // before its audit filter sees the user, so its policy rules and events have it; the gateway
    // adds it where it impersonates (impersonation-headers.ts).
    const audited =
      user && !user.groups.includes(authenticatedGroup)
        ? { ...user, groups: [...user.groups, authenticatedGroup] }
        : user;
    return RequestAudit.begin(auditor, {
      auditID,
      requestURI: path,
      attributes: policyAttributes(method, path, audited),
      user: audited,
      sourceIPs: sourceIps(req.rawHeaders, req.socket.remoteAddress),
      userAgent,
      receivedUs,
    });
  }

  /**
   * The audit event of a request the gateway answered itself. A failed authentication gets one
   * event at ResponseStarted without a user (filters/authn_audit.go); a request refused after
   * authentication (the user is known) gets its RequestReceived and ResponseComplete events, as
   * kube-apiserver's later filters' refusals do.
   */
  #auditOwnAnswer(
    req: ClientRequest,
    error: unknown,
    response: StatusResponse,
    auditID: string,
    path: string,
    receivedUs: number,
  ): void {
    if (!this.#options.auditor) return;
    const user = error instanceof Error ? this.#actors.get(error) : undefined;
    const audit = this.#beginAudit(req, auditID, path, receivedUs, user);
    if (!audit) return;
    if (!user) {
      // The Unauthorized Status is logged only when the API server could write it in a media type
      // the client accepts (WriteObjectNegotiated); otherwise the filter's own message stays.
      if (outputNegotiable(goHeaderGet(req.rawHeaders, "accept"))) {
        audit.setResponseCode(response.status);
        audit.logResponseObject(response.body);
      } else audit.logFailedAuthentication(authMethods(req), response.status);
      audit.process("ResponseStarted");
      return;
    }
    audit.process("RequestReceived");
    audit.setResponseCode(response.status);
    audit.logResponseObject(response.body, outputNegotiable(goHeaderGet(req.rawHeaders, "accept")));
    if (isLongRunning(path)) audit.process("ResponseStarted");
    audit.process("ResponseComplete");
  }

  /**
   * The impersonated user's extras plus kube-oidc-proxy's: `remote-client-ip` and
   * --extra-user-headers, appended to the token's own values of the same key as
   * pkg/proxy/handlers.go appends them (the API server joins repeated Impersonate-Extra-* lines).
   * Not for a passed-through token nor with --disable-impersonation, as there.
   */
  #withExtras(
    identity: readonly (readonly [string, string])[],
    req: ClientRequest,
    trustForwarded: boolean,
  ): readonly (readonly [string, string])[] {
    if (!this.#options.extraUserHeaderClientIp && this.#extraHeaders.length === 0) return identity;
    const out = [...identity];
    // Extras the gateway may not impersonate (the start-up rights check) are left out, as
    // impersonationHeaders leaves out the token's own.
    if (this.#options.extraUserHeaderClientIp && !isExtraWithheld(clientIpExtraKey)) {
      let forwardedFor: string | undefined;
      if (trustForwarded) {
        const values = req.headers["x-forwarded-for"];
        forwardedFor = Array.isArray(values) ? values.join(",") : values;
      }
      out.push([
        extraHeaderName(clientIpExtraKey),
        clientRemoteAddr(req.socket.remoteAddress, req.socket.remotePort, forwardedFor),
      ]);
    }
    for (const { key, header } of this.#extraHeaders) if (!isExtraWithheld(key)) out.push(header);
    return out;
  }

  /**
   * Who the token is, and how the request goes upstream: impersonated under the gateway's own
   * credentials, or (passthrough) with the client's token unchanged after a TokenReview.
   */
  async #identify(
    token: string,
    requestId: string,
  ): Promise<{
    user: UserInfo;
    authorization: string | undefined;
    identity: readonly (readonly [string, string])[];
  }> {
    const { authenticator, tokenReviewer, metrics, upstream, logger } = this.#options;
    try {
      const { user, cached } = await authenticator.authenticate(token);
      metrics.authentications.inc({ result: cached ? "cached" : "success", reason: "" });
      logger.debug("authenticated", {
        requestId,
        user: user.username,
        groups: user.groups.length,
        how: cached ? "token cache" : "verified",
      });
      return { user, authorization: upstream.authorization, identity: impersonationHeaders(user) };
    } catch (error) {
      const unclaimed =
        error instanceof AuthenticationError && (error.code === "UNKNOWN_ISSUER" || error.code === "MALFORMED");
      if (!tokenReviewer || !unclaimed) throw error;
      const username = await tokenReviewer.review(token);
      metrics.authentications.inc({ result: "passthrough", reason: "" });
      logger.debug("authenticated", {
        requestId,
        user: username,
        how: "passthrough: no issuer claims the token; the API server's TokenReview accepted it",
        unclaimed: (error as AuthenticationError).code,
      });
      return { user: { username, groups: [], extra: {} }, authorization: `Bearer ${token}`, identity: [] };
    }
  }

  #failure(error: unknown, req: ClientRequest, requestId: string): StatusResponse {
    const { logger, metrics } = this.#options;
    if (error instanceof AuthenticationError) {
      metrics.authentications.inc({ result: "failure", reason: error.code });
      // The path without its query: a query may carry a token (access_token) or another secret.
      logger.info("authentication failed", {
        requestId,
        reason: error.code,
        detail: error.message,
        path: withoutQuery(req.url ?? ""),
      });
      return withAuditId(toStatus(unauthorized()), requestId);
    }
    if (error instanceof StatusError) {
      logger.info("request refused", {
        requestId,
        code: error.code,
        detail: error.message,
        cause: String(error.cause ?? ""),
      });
    } else {
      logger.error("request failed", { requestId, error: String(error) });
    }
    return withAuditId(toStatus(error), requestId);
  }

  #upstreamError(error: NodeJS.ErrnoException): StatusError | Error {
    const { metrics } = this.#options;
    // Node would not write the request (a header or path it refuses): nothing went upstream,
    // and the request is what is wrong.
    if (error instanceof UpstreamRequestInvalid) {
      return new StatusError(
        "UPSTREAM_REQUEST_INVALID",
        400,
        "BadRequest",
        `the request cannot be forwarded: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    if (error instanceof UpstreamResponseTooLarge) {
      metrics.upstreamErrors.inc({ kind: "reset" });
      return new StatusError("UPSTREAM_RESPONSE_TOO_LARGE", 502, "InternalError", error.message, { cause: error });
    }
    if (error instanceof UpstreamTimeoutError) {
      metrics.upstreamErrors.inc({ kind: "timeout" });
      return new StatusError("UPSTREAM_TIMEOUT", 504, "Timeout", "the Kubernetes API server did not answer in time");
    }
    // No connection could be made: the API server is not there (503, retryable); anything else
    // broke an exchange that had started (502). The metric's kind says the same.
    const unavailable = unreachable.has(error.code ?? "");
    metrics.upstreamErrors.inc({ kind: unavailable ? "unavailable" : "reset" });
    return new StatusError(
      "UPSTREAM_UNAVAILABLE",
      unavailable ? 503 : 502,
      unavailable ? "ServiceUnavailable" : "InternalError",
      "the Kubernetes API server is unavailable",
    );
  }

  /** The access log's line for a request that ended (src/observability/access-log.ts decides whether). */
  #logAccess(
    req: ClientRequest,
    requestId: string,
    path: string,
    started: number,
    record: AccessRecord,
    completed: boolean,
  ): void {
    this.#options.accessLog?.write({ status: record.status, completed, started }, () => {
      const { verb, resource, namespace } = accessAttributes(req.method ?? "GET", path);
      return {
        before: {
          requestId,
          client: record.client,
          user: record.user,
          as: record.as,
          verb,
          resource,
          namespace,
          path: withoutQuery(path),
          protocol: `HTTP/${req.httpVersion}`,
        },
        upstreamStatus: record.upstreamStatus,
        after: { bytesIn: record.bytesIn, bytesOut: record.bytesOut },
      };
    });
  }

  /** An ordinary request, over HTTP/1.1 or HTTP/2. */
  async handleRequest(req: ClientRequest, res: ClientResponse, session?: SessionCredentials): Promise<void> {
    const started = performance.now();
    const receivedUs = nowUs();
    // The audit ID is the request's ID in the gateway's logs, and goes to the API server.
    const requestId = clientAuditId(req.rawHeaders) || randomUUID();
    const { metrics } = this.#options;
    const method = req.method ?? "GET";
    const path = session?.path ?? req.url ?? "/";
    // The access log's record, written when the response ends (a watch: when it closes).
    const access: AccessRecord | undefined = this.#options.accessLog
      ? { client: req.socket?.remoteAddress, bytesIn: 0, bytesOut: 0 }
      : undefined;
    if (access) {
      // Counted once the body flows to the API server: a listener added earlier would start the
      // flow before the upstream request takes it, and lose what it read.
      req.once("resume", () =>
        req.on("data", (chunk: Buffer) => {
          access.bytesIn += chunk.length;
        }),
      );
      res.once("close", () => this.#logAccess(req, requestId, path, started, access, res.writableFinished));
    }
    const done = (status: number) => {
      if (access) access.status = status;
      metrics.requests.inc({ method, code: String(status) });
      metrics.requestDuration.observe({ method }, (performance.now() - started) / 1000);
    };
    const reply = (response: StatusResponse) => {
      if (access) access.bytesOut += Buffer.byteLength(response.body);
      done(response.status);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      (res as ServerResponse).writeHead(response.status, response.headers);
      res.end(response.body);
    };

    let authorized: Authorized;
    try {
      authorized = await this.#authorize(req, undefined, session, requestId);
    } catch (error) {
      if (access && error instanceof Error) access.user = this.#actors.get(error)?.username;
      req.resume();
      const response = this.#failure(error, req, requestId);
      this.#auditOwnAnswer(req, error, response, requestId, path, receivedUs);
      reply(response);
      return;
    }

    if (access) {
      access.user = authorized.user.username;
      access.as = authorized.impersonated?.username;
    }
    const longRunning = isLongRunning(path);
    const audit = this.#beginAudit(req, requestId, path, receivedUs, authorized.user);
    if (authorized.impersonated) audit?.logImpersonatedUser(authorized.impersonated);
    if (audit && !(await audit.process("RequestReceived"))) {
      // blocking-strict: an event that cannot be stored fails the request (filters/audit.go).
      req.resume();
      reply(this.#failure(auditStoreFailed(), req, requestId));
      return;
    }
    let requestCapture: BodyCapture | undefined;
    let body: Readable | undefined = hasBody(req) ? req : undefined;
    if (audit && body && bodyVerbs.has(audit.verb) && isJsonMediaType(req.headers["content-type"])) {
      requestCapture = new BodyCapture(requestCaptureLimit, this.#captureBudget);
      body = capturedRequestBody(body, requestCapture);
    }
    const exchange = this.#options.upstream.send({
      method,
      path,
      headers: authorized.headers,
      body,
      timeoutMs: longRunning ? 0 : this.#options.responseTimeoutMs,
      longRunning,
    });
    let clientGone = false;
    let upstreamStatus: number | undefined;
    let responseCapture: BodyCapture | undefined;
    let deferredStart = false;
    res.once("close", () => {
      clientGone = true;
      if (!res.writableFinished) exchange.abort();
      if (!audit) return;
      // The event's last stages, once the client has the whole response (or left).
      const text = upstreamDecoded(upstreamStatus) ? requestCapture?.text() : undefined;
      if (text !== undefined) {
        if (audit.verb === "patch") audit.logRequestPatch(text);
        else if (audit.verb === "delete" || audit.verb === "deletecollection") {
          // A 400 to a delete is a body that did not decode as DeleteOptions: nothing was logged.
          if (upstreamStatus !== 400) audit.logDeleteOptions(text);
        } else audit.logRequestObject(text);
      }
      audit.logResponseObject(responseCapture?.text(), outputNegotiable(goHeaderGet(req.rawHeaders, "accept")));
      requestCapture?.release();
      responseCapture?.release();
      if (audit.fakeSuccessIfNoStatus() && longRunning) deferredStart = true;
      if (deferredStart) audit.process("ResponseStarted");
      audit.process("ResponseComplete");
    });
    req.on("error", () => exchange.abort());
    req.on("aborted", () => exchange.abort());

    let upstreamRes: UpstreamResponse;
    try {
      upstreamRes = await exchange.response;
    } catch (error) {
      req.resume();
      if (res.headersSent || clientGone) {
        res.destroy();
        return;
      }
      const response = this.#failure(this.#upstreamError(error as NodeJS.ErrnoException), req, requestId);
      if (audit) {
        responseCapture = new BodyCapture(responseCaptureLimit, this.#captureBudget);
        responseCapture.add(Buffer.from(response.body));
        audit.setResponseCode(response.status);
        deferredStart = longRunning;
      }
      reply(response);
      return;
    }
    if (clientGone) {
      // The client left while the API server was answering: nothing to relay, nothing to count open.
      upstreamRes.body.destroy();
      return;
    }
    done(upstreamRes.status);
    upstreamStatus = upstreamRes.status;
    if (access) access.upstreamStatus = upstreamStatus;
    const upstreamBody = upstreamRes.body;
    if (audit) {
      audit.setResponseCode(upstreamRes.status);
      const contentType = goHeaderGet(upstreamRes.rawHeaders, "content-type");
      const failed = upstreamRes.status >= 300;
      // A watch's events are never recorded (its handler logs no response object); a refused
      // long-running request's Status is, and its ResponseStarted event waits for it, because
      // kube-apiserver logs the Status before it writes the head.
      if (isJsonMediaType(contentType) && (!longRunning || failed)) {
        responseCapture = new BodyCapture(
          responseCaptureLimit,
          this.#captureBudget,
          !audit.wantsResponseObject || longRunning,
        );
        const capture = responseCapture;
        upstreamBody.on("data", (chunk: Buffer) => capture.add(chunk));
      }
      if (longRunning && failed && responseCapture) deferredStart = true;
      else if (longRunning) audit.process("ResponseStarted");
    }
    (res as ServerResponse).writeHead(upstreamRes.status, clientResponseHeaders(upstreamRes.rawHeaders));
    if (longRunning) {
      // Send headers now: a watch's first event may be minutes away.
      (res as Partial<ServerResponse>).flushHeaders?.();
      metrics.openWatches.inc();
      const stream = { destroy: () => upstreamBody.destroy() };
      this.#streams.add(stream);
      res.once("close", () => {
        metrics.openWatches.dec();
        this.#streams.delete(stream);
      });
    }
    // The teardown is spelt out: a broken or cut upstream body cuts the client's response short,
    // and a client that goes away ends the upstream exchange (abort above).
    upstreamBody.on("error", () => res.destroy());
    upstreamBody.once("close", () => {
      if (!upstreamBody.readableEnded) res.destroy();
    });
    relay(upstreamBody, res as ServerResponse, access);
  }

  /** An HTTP/1.1 Upgrade request (exec, attach, port-forward; SPDY or WebSocket). */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, session?: SessionCredentials): Promise<void> {
    const started = performance.now();
    const receivedUs = nowUs();
    const requestId = clientAuditId(req.rawHeaders) || randomUUID();
    const { metrics } = this.#options;
    const upgrade = req.headers.upgrade ?? "";
    const path = session?.path ?? req.url ?? "/";
    // The access log's line is written once the connection ends: an exec or port-forward is one
    // request however long it lasts. Its bytes are the connection's, both protocols' (an upgrade
    // owns its connection to the end).
    const access: AccessRecord | undefined = this.#options.accessLog
      ? { client: req.socket?.remoteAddress, bytesIn: 0, bytesOut: 0 }
      : undefined;
    if (access) {
      socket.once("close", () => {
        const counted = socket as Duplex & { bytesRead?: number; bytesWritten?: number };
        access.bytesIn = counted.bytesRead ?? 0;
        access.bytesOut = counted.bytesWritten ?? 0;
        this.#logAccess(req, requestId, path, started, access, access.status !== undefined);
      });
    }
    const writeRaw = (response: StatusResponse) => {
      if (access) access.status = response.status;
      metrics.requests.inc({ method: req.method ?? "GET", code: String(response.status) });
      socket.end(rawHttpResponse(response));
    };
    socket.on("error", () => socket.destroy());
    // The listener hands other Upgrade values to handleRequest (shouldUpgradeCallback); one
    // that arrives here anyway is refused rather than given a raw connection.
    if (!isStreamUpgrade(req.headers)) {
      writeRaw(
        this.#failure(
          new StatusError("UNSUPPORTED_UPGRADE", 400, "BadRequest", "only WebSocket and SPDY/3.1 upgrades are proxied"),
          req,
          requestId,
        ),
      );
      return;
    }

    let authorized: Authorized;
    try {
      authorized = await this.#authorize(req, upgrade, session, requestId);
    } catch (error) {
      if (access && error instanceof Error) access.user = this.#actors.get(error)?.username;
      const response = this.#failure(error, req, requestId);
      this.#auditOwnAnswer(req, error, response, requestId, path, receivedUs);
      writeRaw(response);
      return;
    }
    if (access) {
      access.user = authorized.user.username;
      access.as = authorized.impersonated?.username;
    }
    const audit = this.#beginAudit(req, requestId, path, receivedUs, authorized.user);
    if (authorized.impersonated) audit?.logImpersonatedUser(authorized.impersonated);
    if (audit && !(await audit.process("RequestReceived"))) {
      writeRaw(this.#failure(auditStoreFailed(), req, requestId));
      return;
    }
    // exec, attach and port-forward are long-running: ResponseStarted when the API server
    // answers, ResponseComplete when the connection ends.
    const finish = (status: number | undefined, body?: string) => {
      if (!audit) return;
      if (status !== undefined) {
        audit.logResponseObject(body);
        audit.setResponseCode(status);
      } else audit.fakeSuccessIfNoStatus();
      audit.process("ResponseStarted");
      audit.process("ResponseComplete");
    };

    // Bytes after an upgrade request's headers belong to the new protocol, so the request has
    // no body: a length the client sent would make the API server read the new protocol's
    // first bytes as a body, and without one Node would frame a chunked body and send its
    // "0\r\n\r\n" end marker into the SPDY or WebSocket stream.
    const headers = authorized.headers.filter(
      (_, i, all) => !/^(content-length|transfer-encoding)$/i.test(all[i - (i % 2)] ?? ""),
    );
    headers.push("Content-Length", "0");
    const exchange = this.#options.upstream.send({
      method: req.method ?? "GET",
      path,
      headers,
      timeoutMs: this.#options.responseTimeoutMs,
      upgrade: true,
    });
    // A client that leaves before the API server answers ends the upstream request.
    const onClientGone = () => exchange.abort();
    socket.once("close", onClientGone);
    let upstreamRes: UpstreamResponse;
    try {
      upstreamRes = await exchange.response;
    } catch (error) {
      if (!socket.destroyed) {
        const response = this.#failure(this.#upstreamError(error as NodeJS.ErrnoException), req, requestId);
        finish(response.status, response.body);
        writeRaw(response);
      } else finish(undefined);
      return;
    } finally {
      socket.off("close", onClientGone);
    }
    metrics.requests.inc({ method: req.method ?? "GET", code: String(upstreamRes.status) });
    if (access) {
      access.status = upstreamRes.status;
      access.upstreamStatus = upstreamRes.status;
    }
    if (socket.destroyed) {
      upstreamRes.upgraded?.socket.destroy();
      upstreamRes.body.destroy();
      finish(undefined);
      return;
    }
    const upgraded = upstreamRes.upgraded;
    if (!upgraded) {
      // The API server refused to switch (e.g. 403), or answered a streaming endpoint as a
      // stream: relayed with backpressure up to a bound, then closed.
      const capture = audit ? new BodyCapture(responseCaptureLimit, this.#captureBudget, true) : undefined;
      if (capture) upstreamRes.body.on("data", (chunk: Buffer) => capture.add(chunk));
      socket.once("close", () => {
        finish(upstreamRes.status, capture?.text());
        capture?.release();
      });
      relayRefusedUpgrade(upstreamRes, socket);
      return;
    }
    metrics.openUpgrades.inc();
    audit?.setResponseCode(upstreamRes.status);
    audit?.process("ResponseStarted");
    const stream = {
      destroy: () => {
        upgraded.socket.destroy();
        socket.destroy();
      },
    };
    this.#streams.add(stream);
    spliceUpgrade(upstreamRes, upgraded.socket, upgraded.head, socket, head, () => {
      metrics.openUpgrades.dec();
      this.#streams.delete(stream);
      audit?.process("ResponseComplete");
    });
  }
}
