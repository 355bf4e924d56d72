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
 * Whether a cookie-authenticated request comes from the gateway's own origin. Unsafe methods
 * and WebSocket upgrades must (SameSite=Lax does not cover WebSockets: cross-site WebSocket
 * hijacking); reads are allowed from anywhere a Lax cookie is sent.
 */
export function isSameOrigin(headers: IncomingHttpHeaders, externalOrigin: string): boolean {
  const site = headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = headers.origin;
  if (origin === undefined) return site !== undefined;
  return origin === externalOrigin;
}
