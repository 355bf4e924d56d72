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
import { isStreamUpgrade } from "../proxy/upgrade-relay.ts";

// Slow or silent clients (slowloris) must not hold connections for long. The bounds follow
// kube-apiserver's secure serving (k8s.io/apiserver pkg/server/secure_serving.go): its
// ReadHeaderTimeout of 32 s bounds both the TLS handshake and the request headers. Node's
// defaults were 120 s for the handshake and 60 s for the headers, the latter checked only every
// 30 s. Fixed values rather than flags: no client needs longer, and watches, exec and long
// request bodies are not affected (the header bound ends when the headers are complete).
/** Time a new connection has to complete its TLS handshake. */
export const handshakeTimeoutMs = 10_000;
/** Time a request has to send its complete header block, from its first byte. */
export const headersTimeoutMs = 32_000;
/**
 * An HTTP/2 connection with no open stream is closed (GOAWAY) after this long, as Go's
 * http.Server does with kube-apiserver's IdleTimeout; one that never opens a stream at all gets
 * only `headersTimeoutMs`. Node has no such bound: a silent HTTP/2 client held its socket forever.
 * (Node's own session timeout counts any traffic, not open streams, so it would end quiet watches.)
 */
export const http2IdleTimeoutMs = 90_000;
/** How often Node checks the header and request bounds of open HTTP/1.1 connections. */
const connectionsCheckingIntervalMs = 1_000;

/**
 * HTTP/2 streams a client may have open at once on one connection: kube-apiserver's default,
 * 100 when --http2-max-streams-per-connection is 0 (k8s.io/apiserver@v0.37.2
 * pkg/server/secure_serving.go, "match http2.initialMaxConcurrentStreams used by clients"). Node
 * advertised no limit at all. A client that wants more opens another connection, as client-go does.
 */
export const http2MaxConcurrentStreams = 100;
/**
 * Header fields one request may carry: node:http's server keeps at most 2,000 (its
 * maxHeadersCount default) on HTTP/1.1; HTTP/2 counts its four pseudo-headers too. Node's HTTP/2
 * default was 128: a request with 200 headers of 600 bytes (an id token's groups, a proxy's
 * additions) was reset with ENHANCE_YOUR_CALM instead of answered.
 */
export const maxHeaderFields = 2_000;
const http2PseudoHeaders = 4;
/**
 * HTTP/2 header blocks up to this many times --max-header-bytes are received and answered 431
 * (the request is refused, but the client learns why); a larger block is reset by Node while it
 * decodes it (ENHANCE_YOUR_CALM), as is one with more than `maxHeaderFields` fields. nghttp2 also
 * has a fixed limit of 64 KiB for one header field (name and value, NGHTTP2_HD_MAX_NV): a larger
 * single field is a compression error that ends the whole connection (GOAWAY), whatever
 * --max-header-bytes says.
 */
const http2HeaderBlockSlack = 2;
/**
 * Largest HTTP/2 frame a client may send: kube-apiserver's MaxReadFrameSize of 256 KiB
 * (k8s.io/apiserver@v0.37.2 pkg/server/secure_serving.go, resourceBody99Percentile). With the
 * protocol's default of 16 KiB, a header block over about 144 KiB needed more than the 8
 * CONTINUATION frames nghttp2 accepts (its max_continuations, since CVE-2024-27983) and the
 * whole connection was closed (GOAWAY INTERNAL_ERROR) before --max-header-bytes was reached.
 * Clients built on nghttp2 (node:http2, curl) split header blocks into 16 KiB frames whatever
 * this says, so for them that limit of about 144 KiB stands; Go's client (kubectl, client-go)
 * uses the frame size the server allows.
 */
export const http2MaxFrameSize = 256 * 1024;

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
  /** A request the listener answered itself (a refused request target or method), for the metrics. */
  readonly onRefused?: (method: string, status: number) => void;
  /** How often the certificate files are checked for changes. */
  readonly reloadIntervalMs?: number;
  /** The slow-client bounds; the exported defaults unless a test shortens them. */
  readonly timeouts?: { readonly handshakeMs?: number; readonly headersMs?: number; readonly http2IdleMs?: number };
}

const targetRefusal = () =>
  new StatusError(
    "REQUEST_TARGET",
    400,
    "BadRequest",
    "the request target must be a path that starts with / (origin-form)",
  );

/**
 * Why a request is answered here, before authentication and before anything is forwarded: a
 * request target that is not a path. kube-apiserver serves paths only; the absolute form
 * (`GET https://host/api/...`), `*` and the authority form are what proxies and servers-wide
 * OPTIONS use, and passing them on would make the path the gateway checks and the one the API
 * server routes differ.
 *
 * Methods kube-apiserver does not serve (FOO, PROPFIND, any token HTTP/2 accepts) are NOT
 * refused here: on the test bed's kube-apiserver v1.37.2 they get, over HTTP/1.1 and HTTP/2
 * alike, 401 without a valid token, 403 when RBAC does not grant the verb (the lowercased
 * method: k8s.io/apiserver@v0.37.2 pkg/endpoints/request/requestinfo.go), and only then 405
 * MethodNotAllowed (authentication and authorization come first in DefaultBuildHandlerChain,
 * pkg/server/config.go). An early 405 would tell a client without a token what kube-apiserver
 * answers 401, and the gateway's 401 for a missing token costs no verification anyway; what
 * they cost was metric series, now bounded in src/observability/metrics.ts.
 */
function requestRefusal(_method: string | undefined, url: string | undefined): StatusError | undefined {
  if (!url?.startsWith("/")) return targetRefusal();
  return undefined;
}

/**
 * An HTTP/2 request whose header block exceeds --max-header-bytes: 431, as HTTP/1.1's parser
 * answers. Sized as HTTP/2 sizes a header list (RFC 9113 §6.5.2: name, value and 32 bytes per
 * field), which is what SETTINGS_MAX_HEADER_LIST_SIZE and Node's own limit count.
 */
function http2HeadersRefusal(rawHeaders: readonly string[], maxHeaderBytes: number): StatusError | undefined {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i++) size += (rawHeaders[i]?.length ?? 0) + (i % 2 === 0 ? 32 : 0);
  if (size <= maxHeaderBytes) return undefined;
  return new StatusError("HEADERS_TOO_LARGE", 431, "BadRequest", "request header fields too large");
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
    const refuse = (method: string, error: StatusError) => {
      options.onRefused?.(method, error.httpStatus);
      return toStatus(error);
    };
    const onRequest: TlsListenerOptions["onRequest"] = (req, res) => {
      const refusal =
        requestRefusal(req.method, req.url) ??
        ("stream" in req ? http2HeadersRefusal(req.rawHeaders, options.maxHeaderBytes) : undefined);
      if (!refusal) return options.onRequest(req, res);
      const response = refuse(req.method ?? "", refusal);
      req.resume();
      (res as http.ServerResponse).writeHead(response.status, response.headers);
      res.end(response.body);
    };
    this.#http1 = http.createServer(
      {
        noDelay: true,
        maxHeaderSize: options.maxHeaderBytes,
        headersTimeout: options.timeouts?.headersMs ?? headersTimeoutMs,
        connectionsCheckingInterval: connectionsCheckingIntervalMs,
        // Only WebSocket and SPDY are upgrades (isStreamUpgrade); a request with any other
        // Upgrade (h2c, made-up protocols) is an ordinary request, served with backpressure like
        // any other, as Go's server serves it to kube-apiserver. (Node ≥ 22.21 and 24.9 read this
        // option; on older ones such requests reach onUpgrade, which refuses them.)
        shouldUpgradeCallback: (req: http.IncomingMessage) => isStreamUpgrade(req.headers),
      },
      onRequest,
    );
    this.#http1.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = requestRefusal(req.method, req.url);
      if (!refusal) return options.onUpgrade(req, socket, head);
      socket.on("error", () => socket.destroy());
      socket.end(rawHttpResponse(refuse(req.method ?? "", refusal)));
    });
    // CONNECT's authority-form target (`CONNECT host:443`): Node hands it to "connect" listeners
    // only, and without one closed the connection without an answer.
    this.#http1.on("connect", (req: http.IncomingMessage, socket: Duplex) => {
      socket.on("error", () => socket.destroy());
      socket.end(rawHttpResponse(refuse(req.method ?? "CONNECT", targetRefusal())));
    });
    // This server never listens itself (the TLS server hands it connections), and Node starts
    // tracking connections (headersTimeout, requestTimeout, closeIdleConnections) on
    // "listening": without this, slow headers were never timed out and closeIdle did nothing.
    this.#http1.emit("listening");
    // Requests Node cannot parse (oversized or malformed headers, smuggling attempts) still get
    // a Status body, not Node's bare default.
    this.#http1.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy();
      if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
        // Headers (or the request) not received in time: 408 as Node itself answers, not 400.
        return void socket.end(
          rawHttpResponse(
            toStatus(
              new StatusError("REQUEST_TIMEOUT", 408, "Timeout", "the request headers were not received in time"),
            ),
          ),
        );
      }
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
      {
        maxSendHeaderBlockLength: options.maxHeaderBytes,
        maxHeaderListPairs: maxHeaderFields + http2PseudoHeaders,
        settings: {
          maxHeaderListSize: options.maxHeaderBytes * http2HeaderBlockSlack,
          maxConcurrentStreams: http2MaxConcurrentStreams,
          maxFrameSize: http2MaxFrameSize,
        },
      },
      onRequest,
    );
    // HTTP/2 CONNECT carries no :path, only an :authority; Node answered a bare 405 without a
    // listener. (Other :path values that do not start with "/" (or are not "*") never reach
    // us: nghttp2 resets such a stream with PROTOCOL_ERROR, RFC 9113 §8.3.1.)
    this.#http2.on("connect", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const response = refuse(req.method, targetRefusal());
      req.resume();
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    });
    this.#http2.on("session", (session) => {
      this.#sessions.add(session);
      let open = 0;
      let timer: NodeJS.Timeout | undefined;
      const closeWhenIdleFor = (ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          session.close();
          // A client that never sent its preface does not take part in a graceful close.
          setTimeout(() => session.destroy(), 1_000).unref();
        }, ms);
        timer.unref();
      };
      closeWhenIdleFor(options.timeouts?.headersMs ?? headersTimeoutMs);
      session.on("stream", (stream: http2.ServerHttp2Stream) => {
        open++;
        clearTimeout(timer);
        stream.once("close", () => {
          if (--open === 0 && !session.closed && !session.destroyed)
            closeWhenIdleFor(options.timeouts?.http2IdleMs ?? http2IdleTimeoutMs);
        });
      });
      session.once("close", () => {
        clearTimeout(timer);
        this.#sessions.delete(session);
      });
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
    this.#tls = tls.createServer(
      {
        cert,
        key,
        ALPNProtocols: ["h2", "http/1.1"],
        handshakeTimeout: this.#options.timeouts?.handshakeMs ?? handshakeTimeoutMs,
      },
      (socket) => {
        socket.setNoDelay(true);
        if (socket.alpnProtocol === "h2") this.#http2.emit("connection", socket);
        else this.#http1.emit("connection", socket);
      },
    );
    // With a listener here Node leaves the failed socket to it: without the destroy, a handshake
    // that timed out or failed kept its connection open for good.
    this.#tls.on("tlsClientError", (_error, socket) => socket.destroy());
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
    this.#http1.close(); // ends the connection checks that "listening" started
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }
}
