// What kind of browser request this is. A page navigation may be redirected to the login; a
// fetch/XHR must get a JSON 401 instead, because a cross-origin redirect to the issuer is
// blocked by CORS and the page would see an opaque network error (oauth2-proxy #1522).
import type { IncomingHttpHeaders } from "node:http";

export function isNavigation(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  const mode = headers["sec-fetch-mode"];
  if (mode !== undefined) return mode === "navigate";
  // Browsers without Fetch Metadata: a GET asking for HTML that no script marked as XHR.
  if (headers["x-requested-with"] !== undefined) return false;
  return (headers.accept ?? "").includes("text/html");
}

/**
 * The path to return to after login, if it is a local one; anything that could leave the
 * gateway's origin ("//evil", "/\\evil", absolute URLs, control characters) becomes "/".
 */
export function safeReturnPath(candidate: string | null | undefined): string {
  if (!candidate || candidate.length > 2048) return "/";
  if (!candidate.startsWith("/") || candidate.startsWith("//") || candidate.startsWith("/\\")) return "/";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(candidate)) return "/";
  return candidate;
}

/**
 * Whether a cookie-authenticated request comes from the gateway's own origin. Required of every
 * API request and WebSocket upgrade that carries the session cookie, and of unsafe methods to the
 * dashboard: SameSite=Lax still sends the cookie on cross-site top-level navigations, which are
 * GETs, and a GET through the API can have effects (services/…/proxy, pods/…/proxy reach
 * arbitrary backends); Lax does not cover WebSockets at all (cross-site WebSocket hijacking).
 * `Sec-Fetch-Site: none` is a typed URL or a bookmark, the user's own act.
 *
 * With neither Sec-Fetch-Site nor Origin the request is refused: every browser that sends Fetch
 * Metadata (all current ones) sends Sec-Fetch-Site to an https origin, and the session cookie is
 * `__Host-` and Secure, so such a request is from a browser too old to vouch for (whose cross-site
 * navigations look exactly like this) or from a program replaying a cookie, which should present
 * the token as a bearer token instead.
 */
export function isSameOrigin(headers: IncomingHttpHeaders, externalOrigin: string): boolean {
  const site = headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = headers.origin;
  if (origin === undefined) return site !== undefined;
  return origin === externalOrigin;
}
