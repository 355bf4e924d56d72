// The Impersonate-* headers that make the API server treat a request as the token's user
// (https://kubernetes.io/docs/reference/access-authn-authz/user-impersonation/), written as
// client-go's impersonating round tripper writes them (client-go transport/round_trippers.go).
import type { UserInfo } from "../authn/user.ts";
import { StatusError } from "../proxy/status.ts";

// RFC 7230 token characters (net/http isTokenTable), as client-go's legalHeaderKeyBytes.
const tokenChar = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** client-go's headerKeyEscape: every byte that is not a token char, and `%`, becomes %XX. */
export function escapeExtraKey(key: string): string {
  let out = "";
  for (const byte of Buffer.from(key, "utf8")) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && tokenChar.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * A header value as raw UTF-8 bytes: Node writes header strings as latin1, so each byte of
 * the UTF-8 encoding becomes one char. An identity the header cannot carry unchanged is
 * refused: CR, LF and NUL would end the line (and Node's client throws on them and on every
 * other control character but HTAB), and Go's header parser trims leading and trailing blanks,
 * so " system:admin" would arrive as "system:admin".
 */
export function headerValue(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\0-\x08\n-\x1f\x7f]/.test(value) || /^[ \t]|[ \t]$/.test(value)) {
    throw new StatusError("UNSAFE_IDENTITY", 401, "Unauthorized", "Unauthorized", {
      cause: new Error("identity contains characters that cannot travel unchanged in a header"),
    });
  }
  return Buffer.from(value, "utf8").toString("latin1");
}

/**
 * The extra key as kube-apiserver reads it back from Impersonate-Extra-<escaped key>: it
 * lower-cases the header name (ASCII only: Go's strings.ToLower leaves %XX escapes' meaning
 * alone) and unescapes it. Lower-casing before escaping gives the same key.
 */
const asciiLower = (key: string) => key.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Headers already written for an identity. The token cache hands back the same UserInfo for
 * every request of a cached token, so each identity is escaped once, not on every request.
 */
const written = new WeakMap<UserInfo, readonly (readonly [string, string])[]>();

/** [name, value] pairs, one Impersonate-Group line per group (a comma-joined one is one group). */
export function impersonationHeaders(user: UserInfo): readonly (readonly [string, string])[] {
  const known = written.get(user);
  if (known) return known;
  const headers: [string, string][] = [["Impersonate-User", headerValue(user.username)]];
  if (user.uid) headers.push(["Impersonate-Uid", headerValue(user.uid)]);
  for (const group of user.groups) headers.push(["Impersonate-Group", headerValue(group)]);
  for (const [key, values] of Object.entries(user.extra)) {
    const name = `Impersonate-Extra-${escapeExtraKey(asciiLower(key))}`;
    for (const value of values) headers.push([name, headerValue(value)]);
  }
  written.set(user, headers);
  return headers;
}

/** The first Impersonate-* header a client sent, in any letter case, if any. */
export function clientImpersonationHeader(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? "";
    if (name.toLowerCase().startsWith("impersonate-")) return name;
  }
  return undefined;
}
