// Forwarding to a dashboard behind the login (Headlamp, Kubeapps, any web app): what such apps
// expect from an auth proxy, Authorization: Bearer <token> plus X-Forwarded-*; of the client's
// own headers only what the gateway's one header policy lets through (headers.ts
// forwardableClientHeaders: no credentials, no identity an auth proxy's downstream would trust,
// no hop-by-hop headers), plus the dashboard's own cookies, never the gateway's. Back towards the
// browser the dashboard can neither set nor clear the gateway's cookies: a dashboard that relays
// an API answer's Set-Cookie (Headlamp relays the 401 it gets) would otherwise end the browser's
// session and send it through the login again and again. Upgrades (the dashboard's own
// WebSockets) pass byte for byte once switched.
import * as http from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import * as https from "node:https";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream";
import { withoutCookies } from "../session/cookies.ts";
import { clientResponseHeaders, forwardableClientHeaders } from "./headers.ts";
import { relayRefusedUpgrade, spliceUpgrade } from "./upgrade-relay.ts";

type ClientRequest = http.IncomingMessage | Http2ServerRequest;
type ClientResponse = http.ServerResponse | Http2ServerResponse;

export interface DashboardProxyOptions {
  readonly url: string;
  readonly ca?: string;
  /** Whether a cookie is the gateway's own (removed before forwarding). */
  readonly isGatewayCookie: (name: string) => boolean;
  readonly onError?: (error: Error) => void;
}

export class DashboardProxy {
  readonly #url: URL;
  readonly #options: DashboardProxyOptions;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(options: DashboardProxyOptions) {
    this.#options = options;
    this.#url = new URL(options.url);
    const secure = this.#url.protocol === "https:";
    this.#agent = secure ? new https.Agent({ keepAlive: true, ca: options.ca }) : new http.Agent({ keepAlive: true });
    this.#request = secure ? https.request : http.request;
  }

  #headers(req: ClientRequest, token: string, upgrade: boolean): string[] {
    // The dashboard gets the client's address from the gateway alone: no proxy in front is trusted here.
    const { headers: out } = forwardableClientHeaders(req.rawHeaders, { trustForwarded: false });
    const cookies = withoutCookies(req.headers.cookie, this.#options.isGatewayCookie);
    if (cookies) out.push("Cookie", cookies);
    const host = req.headers.host ?? (req.headers as Record<string, string | undefined>)[":authority"] ?? "";
    out.push("Host", this.#url.host, "Authorization", `Bearer ${token}`);
    out.push("X-Forwarded-Proto", "https", "X-Forwarded-Host", host);
    if (req.socket.remoteAddress) out.push("X-Forwarded-For", req.socket.remoteAddress);
    if (upgrade) out.push("Connection", "Upgrade", "Upgrade", String(req.headers.upgrade ?? ""));
    return out;
  }

  /**
   * Whether a Set-Cookie line names one of the gateway's cookies. The name is what comes before
   * the first "=" (RFC 6265 §5.2); browsers read the __Host- prefix in any letter case, so this
   * does too.
   */
  #setsGatewayCookie(line: string): boolean {
    const name = (line.split(";")[0] ?? "").split("=")[0]?.trim() ?? "";
    return this.#options.isGatewayCookie(name) || this.#options.isGatewayCookie(name.replace(/^__host-/i, "__Host-"));
  }

  /** The response headers without any Set-Cookie that names one of the gateway's cookies. */
  #withoutGatewayCookies(headers: Record<string, string[]>): Record<string, string[]> {
    const setCookie = headers["set-cookie"];
    if (!setCookie) return headers;
    const kept = setCookie.filter((line) => !this.#setsGatewayCookie(line));
    if (kept.length === setCookie.length) return headers;
    const { "set-cookie": _, ...rest } = headers;
    return kept.length > 0 ? { ...rest, "set-cookie": kept } : rest;
  }

  #path(req: ClientRequest): string {
    const base = this.#url.pathname.replace(/\/$/, "");
    return `${base}${req.url ?? "/"}`;
  }

  handleRequest(req: ClientRequest, res: ClientResponse, token: string): void {
    const upstreamReq = this.#request({
      hostname: this.#url.hostname,
      port: this.#url.port || undefined,
      method: req.method,
      path: this.#path(req),
      headers: this.#headers(req, token, false),
      agent: this.#agent,
    });
    upstreamReq.on("response", (upstreamRes) => {
      (res as http.ServerResponse).writeHead(
        upstreamRes.statusCode ?? 502,
        this.#withoutGatewayCookies(clientResponseHeaders(upstreamRes.rawHeaders)),
      );
      pipeline(upstreamRes, res as NodeJS.WritableStream, () => {});
    });
    upstreamReq.on("error", (error) => {
      this.#options.onError?.(error);
      if (res.headersSent) return void res.destroy();
      (res as http.ServerResponse).writeHead(502, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(
        `${JSON.stringify({ error: "dashboard_unavailable", message: "the dashboard behind the gateway did not answer" })}\n`,
      );
    });
    res.once("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    pipeline(req as NodeJS.ReadableStream, upstreamReq, () => {});
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, token: string): void {
    const headers = this.#headers(req, token, true);
    headers.push("Content-Length", "0");
    const upstreamReq = this.#request({
      hostname: this.#url.hostname,
      port: this.#url.port || undefined,
      method: req.method,
      path: this.#path(req),
      headers,
      agent: false,
      ...(this.#url.protocol === "https:" ? { ca: this.#options.ca } : {}),
    } as https.RequestOptions);
    upstreamReq.on("upgrade", (upstreamRes, upstreamSocket, upstreamHead) =>
      spliceUpgrade(upstreamRes, upstreamSocket, upstreamHead, socket, head),
    );
    upstreamReq.on("response", (upstreamRes) => {
      const rawHeaders: string[] = [];
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        const name = upstreamRes.rawHeaders[i] ?? "";
        const value = upstreamRes.rawHeaders[i + 1] ?? "";
        if (name.toLowerCase() === "set-cookie" && this.#setsGatewayCookie(value)) continue;
        rawHeaders.push(name, value);
      }
      relayRefusedUpgrade(
        {
          status: upstreamRes.statusCode ?? 502,
          statusMessage: upstreamRes.statusMessage,
          rawHeaders,
          body: upstreamRes,
        },
        socket,
      );
    });
    upstreamReq.on("error", (error) => {
      this.#options.onError?.(error);
      socket.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    });
    upstreamReq.end();
  }

  close(): void {
    this.#agent.destroy();
  }
}
