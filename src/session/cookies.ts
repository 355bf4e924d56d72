// Cookie headers: reading the Cookie request header (RFC 6265 §5.4) and writing Set-Cookie with
// the attributes every gateway cookie carries. Names with the __Host- prefix require Secure,
// Path=/ and no Domain, which is what is written.

/** The cookies of a request as name → value (the first occurrence wins, as browsers order by path). */
export function readCookies(header: string | string[] | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  for (const line of lines) {
    for (const pair of line.split(";")) {
      const eq = pair.indexOf("=");
      if (eq === -1) continue;
      const name = pair.slice(0, eq).trim();
      if (name && !cookies.has(name)) cookies.set(name, pair.slice(eq + 1).trim());
    }
  }
  return cookies;
}

/** A Set-Cookie value: Secure, HttpOnly, SameSite=Lax, Path=/; Max-Age 0 deletes. */
export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  return `${name}=${value}; Path=/; Max-Age=${maxAge}; Secure; HttpOnly; SameSite=Lax`;
}

/** The Cookie header without the named cookies (the gateway's own never reach an upstream). */
export function withoutCookies(header: string | string[] | undefined, drop: (name: string) => boolean): string {
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  const kept: string[] = [];
  for (const line of lines) {
    for (const pair of line.split(";")) {
      const trimmed = pair.trim();
      if (!trimmed) continue;
      const eq = trimmed.indexOf("=");
      const name = eq === -1 ? trimmed : trimmed.slice(0, eq);
      if (!drop(name)) kept.push(trimmed);
    }
  }
  return kept.join("; ");
}
