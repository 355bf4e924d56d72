// Where a client's token comes from, as kube-apiserver reads it: the Authorization header
// (k8s.io/apiserver pkg/authentication/request/bearertoken) or, on WebSocket upgrades, the
// subprotocol base64url.bearer.authorization.k8s.io.<token>
// (pkg/authentication/request/websocket/protocol.go), which must then be removed before the
// request goes on.
import type { IncomingHttpHeaders } from "node:http";
import { AuthenticationError } from "../authn/errors.ts";
import { decodeRawBase64Url } from "../authn/go-json.ts";

const bearerProtocolPrefix = "base64url.bearer.authorization.k8s.io.";

/** The bearer token of an Authorization header, or undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const value = authorization?.trim();
  if (!value) return undefined;
  const parts = value.split(" ");
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "bearer") return undefined;
  return parts[1] || undefined;
}

export function isWebSocketUpgrade(headers: IncomingHttpHeaders): boolean {
  const connection = String(headers.connection ?? "").toLowerCase();
  return (
    connection.split(",").some((t) => t.trim() === "upgrade") &&
    String(headers.upgrade ?? "").toLowerCase() === "websocket"
  );
}

export interface ProtocolToken {
  readonly token: string;
  /** The other subprotocols, to forward in place of the header. */
  readonly remaining: string;
}

/** The token carried in Sec-WebSocket-Protocol, if any; refuses what kube-apiserver refuses. */
export function websocketProtocolToken(protocolHeaders: readonly string[] | undefined): ProtocolToken | undefined {
  let token: string | undefined;
  const others: string[] = [];
  for (const header of protocolHeaders ?? []) {
    for (const raw of header.split(",")) {
      const protocol = raw.trim();
      if (!protocol.startsWith(bearerProtocolPrefix)) {
        others.push(protocol);
        continue;
      }
      if (token !== undefined) {
        throw new AuthenticationError("WEBSOCKET_PROTOCOL", "multiple base64.bearer.authorization tokens specified");
      }
      const decoded = decodeRawBase64Url(protocol.slice(bearerProtocolPrefix.length));
      if (!decoded)
        throw new AuthenticationError("WEBSOCKET_PROTOCOL", "invalid base64.bearer.authorization token encoding");
      const text = decoded.toString("utf8");
      if (!Buffer.from(text, "utf8").equals(decoded)) {
        throw new AuthenticationError("WEBSOCKET_PROTOCOL", "invalid base64.bearer.authorization token");
      }
      token = text;
    }
  }
  if (!token) return undefined;
  if (others.length === 0) throw new AuthenticationError("WEBSOCKET_PROTOCOL", "missing additional subprotocol");
  return { token, remaining: others.join(",") };
}
