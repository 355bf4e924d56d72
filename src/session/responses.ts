// Small response writers for the login endpoints: JSON, redirects and HTML pages, each with
// no-store caching (session answers must never be cached) and, for HTML, headers that keep the
// page from being framed or loading anything from elsewhere.
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";

export type Response = ServerResponse | Http2ServerResponse;

function write(res: Response, status: number, headers: Record<string, string | string[]>, body: string): void {
  (res as ServerResponse).writeHead(status, { "cache-control": "no-store", ...headers });
  res.end(body);
}

export function sendJson(res: Response, status: number, body: unknown, cookies: string[] = []): void {
  write(
    res,
    status,
    { "content-type": "application/json", ...(cookies.length ? { "set-cookie": cookies } : {}) },
    `${JSON.stringify(body)}\n`,
  );
}

export function redirect(res: Response, location: string, cookies: string[] = []): void {
  write(res, 302, { location, ...(cookies.length ? { "set-cookie": cookies } : {}) }, "");
}

export function sendHtml(res: Response, status: number, html: string, options: { nonce?: string } = {}): void {
  const scripts = options.nonce ? `script-src 'nonce-${options.nonce}'; ` : "";
  write(
    res,
    status,
    {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": `default-src 'none'; ${scripts}style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'`,
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
    html,
  );
}

export const escapeHtml = (text: string) =>
  text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");

/** A plain page explaining why a login could not finish, with a way to start again. */
export function problemPage(res: Response, status: number, title: string, detail: string): void {
  sendHtml(
    res,
    status,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body style="font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;line-height:1.5">` +
      `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p><p><a href="/oauth2/start">Log in again</a></p></body></html>`,
  );
}

/** Reads a small request body (form posts to the login endpoints). */
export function readBody(req: NodeJS.ReadableStream, limit = 65_536): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`request body larger than ${limit} bytes`));
        (req as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
