// Where a client's token comes from, as kube-apiserver reads it: the Authorization header
// (k8s.io/apiserver pkg/authentication/request/bearertoken) or, on WebSocket upgrades, the
// subprotocol base64url.bearer.authorization.k8s.io.<token>
// (pkg/authentication/request/websocket/protocol.go), which must then be removed before the
// request goes on.
import type { IncomingHttpHeaders } from "node:http";
import { AuthenticationError } from "../authn/errors.ts";
import { decodeRawBase64Url } from "./go-json.ts";

const bearerProtocolPrefix = "base64url.bearer.authorization.k8s.io.";

// Go's strings.TrimSpace over a header value as Node hands it over (one latin1 char per byte):
// ASCII blanks and the UTF-8 encodings of Unicode's other white space (U+0085, U+00A0, U+1680,
// U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). String.prototype.trim would instead
// strip a lone 0xA0 byte (which Go, reading invalid UTF-8, keeps) and keep the bytes of a UTF-8
// no-break space (which Go strips).
const goSpace =
  "(?:[\\t\\n\\v\\f\\r ]|\\xc2[\\x85\\xa0]|\\xe1\\x9a\\x80|\\xe2\\x80[\\x80-\\x8a\\xa8\\xa9\\xaf]|\\xe2\\x81\\x9f|\\xe3\\x80\\x80)";
const goSpaceEdges = new RegExp(`^${goSpace}+|${goSpace}+$`, "g");

/** strings.TrimSpace for a header value given as latin1 chars (one per byte). */
export function goTrimSpace(value: string): string {
  return value.replace(goSpaceEdges, "");
}

/** The bearer token of an Authorization header, or undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const value = authorization === undefined ? undefined : goTrimSpace(authorization);
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
      const protocol = goTrimSpace(raw);
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
