// Which headers cross the gateway. One policy for what a client's request may carry on, to the
// API server (api-proxy.ts) and to a dashboard behind the login (dashboard-proxy.ts):
// never the client's credentials, identity claims or impersonation headers, never hop-by-hop
// headers (RFC 9110 §7.6.1) nor the headers `Connection` names, and no forwarding headers but
// X-Forwarded-For from a proxy the gateway trusts. Each proxy then adds its own: the gateway's
// credentials and impersonation headers upstream; the session's bearer token, X-Forwarded-* and
// the dashboard's own cookies to a dashboard.
// Towards the client: the upstream's headers without hop-by-hop ones.

const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

// Credentials and identity claims of the client: its own token and cookies, impersonation, the
// API server's request-header authentication (X-Remote-*, its default names), and the identity
// headers that apps behind an auth proxy trust (oauth2-proxy's X-Auth-Request-* and
// X-Forwarded-User/Email/Groups/Preferred-Username, Remote-User/Remote-Groups). A client that
// sends any of them is claiming an identity the gateway has not vouched for.
const clientIdentity =
  /^(authorization|cookie|impersonate-.*|x-remote-.*|x-auth-request-.*|remote-user|remote-groups|x-forwarded-(user|email|groups|preferred-username))$/;
// Forwarding headers: only the gateway says where a request came from.
const forwarded = /^(x-forwarded-.*|x-real-ip|forwarded)$/;

export interface ClientHeaderOptions {
  /** Whether the client is a configured proxy whose X-Forwarded-For chain is kept. */
  readonly trustForwarded: boolean;
  /** Sec-WebSocket-Protocol is left out (the caller writes its own, the bearer token removed). */
  readonly dropWebsocketProtocols?: boolean;
}

export interface ClientHeaders {
  /** The headers that may go on, as flat [name, value, name, value, …], names as sent. */
  readonly headers: string[];
  /** The incoming X-Forwarded-For chain of a trusted proxy (undefined when untrusted or absent). */
  readonly forwardedFor: string | undefined;
}

/** The client's request headers that may cross the gateway, to any upstream. */
export function forwardableClientHeaders(rawHeaders: readonly string[], options: ClientHeaderOptions): ClientHeaders {
  const raw = rawHeaders;
  const connectionTokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === "connection") {
      for (const token of (raw[i + 1] ?? "").split(",")) connectionTokens.add(token.trim().toLowerCase());
    }
  }
  const headers: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const lower = name.toLowerCase();
    const value = raw[i + 1] ?? "";
    if (lower.startsWith(":") || lower === "host") continue; // HTTP/2 pseudo-headers; Host is rewritten
    if (hopByHop.has(lower) || connectionTokens.has(lower) || clientIdentity.test(lower)) continue;
    if (forwarded.test(lower)) {
      if (options.trustForwarded && lower === "x-forwarded-for") {
        forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
      }
      continue;
    }
    if (lower === "sec-websocket-protocol" && options.dropWebsocketProtocols) continue;
    headers.push(name, value);
  }
  return { headers, forwardedFor };
}

export interface UpstreamHeaderOptions {
  readonly rawHeaders: readonly string[];
  readonly upstreamHost: string;
  readonly authorization: string | undefined;
  readonly identity: readonly (readonly [string, string])[];
  readonly clientAddress: string | undefined;
  /** Whether the client is a configured proxy whose X-Forwarded-For is kept. */
  readonly trustForwarded: boolean;
  /** For upgrades: the Upgrade header value to keep. */
  readonly upgrade?: string;
  /** Replaces Sec-WebSocket-Protocol (the bearer-token subprotocol removed). */
  readonly websocketProtocols?: string;
  /**
   * The request's audit ID, sent as Audit-ID in place of the client's: kube-apiserver takes it
   * (filters/audit_init.go WithAuditInit), so its audit event for the forwarded request carries
   * the gateway's ID ("set by the first server to receive the request", audit/types.go HeaderAuditID).
   */
  readonly auditId?: string;
}

/** The header list for the API server request, as flat [name, value, name, value, …]. */
export function upstreamRequestHeaders(options: UpstreamHeaderOptions): string[] {
  const { headers: out, forwardedFor } = forwardableClientHeaders(options.rawHeaders, {
    trustForwarded: options.trustForwarded,
    dropWebsocketProtocols: options.websocketProtocols !== undefined,
  });
  if (options.auditId !== undefined) {
    for (let i = out.length - 2; i >= 0; i -= 2) if (out[i]?.toLowerCase() === "audit-id") out.splice(i, 2);
    out.push("Audit-ID", options.auditId);
  }
  out.push("Host", options.upstreamHost);
  if (options.upgrade) out.push("Connection", "Upgrade", "Upgrade", options.upgrade);
  if (options.websocketProtocols) out.push("Sec-WebSocket-Protocol", options.websocketProtocols);
  const chain = [forwardedFor, options.clientAddress].filter(Boolean).join(", ");
  if (chain) out.push("X-Forwarded-For", chain);
  if (options.authorization) out.push("Authorization", options.authorization);
  for (const [name, value] of options.identity) out.push(name, value);
  return out;
}

/** The API server's response headers for the client, as an object of arrays. */
export function clientResponseHeaders(rawHeaders: readonly string[]): Record<string, string[]> {
  const connectionTokens = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === "connection") {
      for (const token of (rawHeaders[i + 1] ?? "").split(",")) connectionTokens.add(token.trim().toLowerCase());
    }
  }
  const out: Record<string, string[]> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = (rawHeaders[i] ?? "").toLowerCase();
    if (hopByHop.has(lower) || connectionTokens.has(lower)) continue;
    const values = out[lower] ?? [];
    values.push(rawHeaders[i + 1] ?? "");
    out[lower] = values;
  }
  return out;
}
