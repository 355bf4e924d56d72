// Which headers cross the gateway. Towards the API server: never the client's credentials or
// impersonation headers, never hop-by-hop headers (RFC 9110 §7.6.1), X-Forwarded-For only as the
// gateway vouches for it; then the gateway's own credentials and the impersonation headers.
// Towards the client: the API server's headers without hop-by-hop ones.

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

// Credentials and identity claims of the client that must not reach the API server: its own
// token, cookies of a browser session, and the request-header authentication headers.
const clientIdentity = /^(authorization|cookie|impersonate-.*|x-remote-(user|group|extra-.*))$/;
const forwarded = /^(x-forwarded-for|x-forwarded-host|x-forwarded-proto|x-real-ip|forwarded)$/;

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
}

/** The header list for the upstream request, as flat [name, value, name, value, …]. */
export function upstreamRequestHeaders(options: UpstreamHeaderOptions): string[] {
  const raw = options.rawHeaders;
  const connectionTokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === "connection") {
      for (const token of (raw[i + 1] ?? "").split(",")) connectionTokens.add(token.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  let priorForwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const lower = name.toLowerCase();
    const value = raw[i + 1] ?? "";
    if (lower.startsWith(":") || lower === "host") continue; // HTTP/2 pseudo-headers; Host is rewritten
    if (hopByHop.has(lower) || connectionTokens.has(lower) || clientIdentity.test(lower)) continue;
    if (forwarded.test(lower)) {
      if (options.trustForwarded && lower === "x-forwarded-for") {
        priorForwardedFor = priorForwardedFor ? `${priorForwardedFor}, ${value}` : value;
      }
      continue;
    }
    if (lower === "sec-websocket-protocol" && options.websocketProtocols !== undefined) continue;
    out.push(name, value);
  }
  out.push("Host", options.upstreamHost);
  if (options.upgrade) out.push("Connection", "Upgrade", "Upgrade", options.upgrade);
  if (options.websocketProtocols) out.push("Sec-WebSocket-Protocol", options.websocketProtocols);
  const chain = [priorForwardedFor, options.clientAddress].filter(Boolean).join(", ");
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
