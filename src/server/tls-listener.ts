// The client-facing listener: TLS with ALPN, HTTP/2 for clients that offer it and HTTP/1.1
// (with Upgrade) for the rest, on one port. The certificate and key are re-read when their
// files change, as cert-manager rotates them, without dropping connections.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { rawHttpResponse, StatusError, toStatus } from "../proxy/status.ts";

export interface TlsListenerOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly onRequest: (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => void;
  readonly onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly onReload?: (ok: boolean, error?: Error) => void;
  /** Largest request header block accepted; larger ones get 431. */
  readonly maxHeaderBytes: number;
  /** How often the certificate files are checked for changes. */
  readonly reloadIntervalMs?: number;
}

export class TlsListener {
  readonly #options: TlsListenerOptions;
  readonly #http1: http.Server;
  readonly #http2: http2.Http2Server;
  #tls: tls.Server | undefined;
  #fingerprint = "";
  #timer: NodeJS.Timeout | undefined;
  readonly #sessions = new Set<http2.Http2Session>();
  /** Every TCP connection, so closeAll also ends those still in their TLS handshake. */
  readonly #sockets = new Set<Socket>();

  constructor(options: TlsListenerOptions) {
    this.#options = options;
    this.#http1 = http.createServer({ noDelay: true, maxHeaderSize: options.maxHeaderBytes }, options.onRequest);
    this.#http1.on("upgrade", options.onUpgrade);
    // Requests Node cannot parse (oversized or malformed headers, smuggling attempts) still get
    // a Status body, not Node's bare default.
    this.#http1.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
      socket.end(
        rawHttpResponse(
          toStatus(
            new StatusError(
              tooLarge ? "HEADERS_TOO_LARGE" : "MALFORMED_REQUEST",
              tooLarge ? 431 : 400,
              "BadRequest",
              tooLarge ? "request header fields too large" : "malformed HTTP request",
            ),
          ),
        ),
      );
    });
    this.#http2 = http2.createServer(
      { maxSendHeaderBlockLength: options.maxHeaderBytes, settings: { maxHeaderListSize: options.maxHeaderBytes } },
      options.onRequest,
    );
    this.#http2.on("session", (session) => {
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
    });
  }

  async #readPair(): Promise<{ cert: string; key: string; fingerprint: string }> {
    const [cert, key] = await Promise.all([
      readFile(this.#options.certFile, "utf8"),
      readFile(this.#options.keyFile, "utf8"),
    ]);
    return { cert, key, fingerprint: createHash("sha256").update(cert).update(key).digest("hex") };
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    const { cert, key, fingerprint } = await this.#readPair();
    this.#fingerprint = fingerprint;
    this.#tls = tls.createServer({ cert, key, ALPNProtocols: ["h2", "http/1.1"] }, (socket) => {
      socket.setNoDelay(true);
      if (socket.alpnProtocol === "h2") this.#http2.emit("connection", socket);
      else this.#http1.emit("connection", socket);
    });
    this.#tls.on("tlsClientError", () => {});
    this.#tls.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.#tls?.once("error", reject);
      this.#tls?.listen(port, host, () => resolve());
    });
    this.#timer = setInterval(() => void this.#reload(), this.#options.reloadIntervalMs ?? 2000);
    this.#timer.unref();
    return this.#tls.address() as AddressInfo;
  }

  async #reload(): Promise<void> {
    try {
      const pair = await this.#readPair();
      if (pair.fingerprint === this.#fingerprint) return;
      // createSecureContext validates the pair; a half-written file fails here and is retried.
      tls.createSecureContext({ cert: pair.cert, key: pair.key });
      this.#tls?.setSecureContext({ cert: pair.cert, key: pair.key });
      this.#fingerprint = pair.fingerprint;
      this.#options.onReload?.(true);
    } catch (error) {
      this.#options.onReload?.(false, error as Error);
    }
  }

  /**
   * Stops accepting connections; open ones continue until `closeIdle`/`closeAll`. (The close
   * callback of a server only fires once every connection has ended, so it is not awaited.)
   */
  stopAccepting(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#tls?.listening) this.#tls.close();
  }

  /** Closes keep-alive connections with no request in flight; HTTP/2 sessions get GOAWAY. */
  closeIdle(): void {
    this.#http1.closeIdleConnections();
    for (const session of this.#sessions) session.close();
  }

  closeAll(): void {
    this.#http1.closeAllConnections();
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }
}
