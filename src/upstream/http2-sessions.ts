// The gateway's HTTP/2 connections to the API server. client-go speaks HTTP/2 to kube-apiserver
// and multiplexes a client's requests, watches included, over one TLS connection; the gateway
// does the same. A watch then costs an HTTP/2 stream (a few KiB) instead of a TLS connection of
// its own (~70 KiB in Node), and requests under load share TLS records and syscalls (about half
// the client-side CPU per small request of Node's HTTP/1.1 agent, bench/ and its notes).
//
// - ALPN decides, once: an API server (or a proxy in front of it) that does not offer h2 is
//   reached over HTTP/1.1 through the keep-alive agent for the life of the process.
// - A connection takes new streams up to the server's SETTINGS_MAX_CONCURRENT_STREAMS, then
//   another one opens. Streams queued beyond that limit inside nghttp2 would wait for a free
//   slot, and a slot held by a watch may never free: the count here keeps that from happening.
// - GOAWAY (kube-apiserver's --goaway-chance, a restart): the connection takes no new streams,
//   its open ones finish. A request the server refused unprocessed (REFUSED_STREAM, or a stream
//   above the GOAWAY's last id) and that has no body is sent once more on another connection.
// - Health, as client-go checks its HTTP/2 connections (k8s.io/apimachinery pkg/util/net/http.go,
//   HTTP2_READ_IDLE_TIMEOUT_SECONDS 30 and HTTP2_PING_TIMEOUT_SECONDS 15): a connection with open
//   streams is pinged every 30 s and destroyed when no answer comes within 15 s, so watches on a
//   dead connection end (their clients re-watch) instead of hanging.
// - Flow control as Go's http2.Transport sets it (transportDefaultConnFlow, 1 GiB for the
//   connection): a watch whose client reads slowly holds back its own stream, not its neighbours.
//   The stream window is 1 MiB rather than Go's 4 MiB: what a slow client can leave buffered
//   here is bounded by it, per stream.
// - A connection without streams closes after 90 s (client-go's IdleConnTimeout).
import * as http2 from "node:http2";
import { isIP } from "node:net";
import * as tls from "node:tls";

export const pingIntervalMs = 30_000;
export const pingTimeoutMs = 15_000;
export const idleTimeoutMs = 90_000;
/** A TCP connect and TLS handshake that takes longer fails the requests waiting for it. */
export const connectTimeoutMs = 10_000;
const connectionWindowBytes = 1 << 30;
const streamWindowBytes = 1 << 20;
const maxHeaderBlockBytes = 4 << 20;
/** Before the server's SETTINGS arrive, and when they name no limit (RFC 9113 §6.5.2: unlimited). */
const defaultStreamLimit = 100;
const unlimitedStreamCap = 1000;

export interface Http2SessionsOptions {
  readonly url: URL;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Told once when the API server turns out to speak only HTTP/1.1. */
  readonly onHttp1Only?: () => void;
  /** Counts the open connections (a metrics gauge). */
  readonly connectionGauge?: { inc(): void; dec(): void };
  /** Shortened by tests. */
  readonly timings?: { readonly pingIntervalMs?: number; readonly pingTimeoutMs?: number; readonly idleMs?: number };
}

class PooledSession {
  active = 0;
  limit = defaultStreamLimit;
  usable = true;
  readonly session: http2.ClientHttp2Session;
  readonly timings: { pingIntervalMs: number; pingTimeoutMs: number; idleMs: number };
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #pingTimer: NodeJS.Timeout;

  constructor(
    session: http2.ClientHttp2Session,
    timings: { pingIntervalMs: number; pingTimeoutMs: number; idleMs: number },
    onClose: () => void,
  ) {
    this.session = session;
    this.timings = timings;
    session.on("remoteSettings", (settings) => {
      const limit = settings.maxConcurrentStreams;
      this.limit = limit === undefined || limit > unlimitedStreamCap ? unlimitedStreamCap : limit;
    });
    session.on("goaway", () => {
      this.usable = false;
    });
    // Errors reach the streams that were open; the session only has to leave the pool.
    session.on("error", () => {});
    session.on("close", () => {
      this.usable = false;
      clearTimeout(this.#idleTimer);
      clearInterval(this.#pingTimer);
      onClose();
    });
    this.#pingTimer = setInterval(() => this.#ping(), timings.pingIntervalMs);
    this.#pingTimer.unref();
    this.#armIdle();
  }

  get hasRoom(): boolean {
    return this.usable && !this.session.closed && !this.session.destroyed && this.active < this.limit;
  }

  opened(stream: http2.ClientHttp2Stream): void {
    this.active++;
    clearTimeout(this.#idleTimer);
    stream.once("close", () => {
      this.active--;
      if (this.active === 0) this.#armIdle();
    });
  }

  #armIdle(): void {
    this.#idleTimer = setTimeout(() => {
      if (this.active === 0) this.session.close();
    }, this.timings.idleMs);
    this.#idleTimer.unref();
  }

  #ping(): void {
    if (this.active === 0 || this.session.destroyed) return;
    const deadline = setTimeout(
      () => this.session.destroy(new Error("the API server did not answer an HTTP/2 ping")),
      this.timings.pingTimeoutMs,
    );
    deadline.unref();
    const sent = this.session.ping((error) => {
      clearTimeout(deadline);
      if (error) this.session.destroy(error);
    });
    if (!sent) clearTimeout(deadline); // too many pings unanswered: Node refused to send another
  }
}

export class Http2Sessions {
  readonly #options: Http2SessionsOptions;
  readonly #timings: { pingIntervalMs: number; pingTimeoutMs: number; idleMs: number };
  readonly #sessions = new Set<PooledSession>();
  /** One connection attempt at a time; requests that find no room wait for it. */
  #connecting: Promise<PooledSession | undefined> | undefined;
  #http1Only = false;
  #closed = false;

  constructor(options: Http2SessionsOptions) {
    this.#options = options;
    this.#timings = {
      pingIntervalMs: options.timings?.pingIntervalMs ?? pingIntervalMs,
      pingTimeoutMs: options.timings?.pingTimeoutMs ?? pingTimeoutMs,
      idleMs: options.timings?.idleMs ?? idleTimeoutMs,
    };
  }

  /** Whether ALPN showed that the API server does not speak HTTP/2. */
  get http1Only(): boolean {
    return this.#http1Only;
  }

  /** Open connections (for tests and metrics). */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Opens a stream for a request given as flat raw headers (pseudo-headers included), or
   * resolves undefined when the API server speaks only HTTP/1.1. Rejects with the connection's
   * error (ECONNREFUSED, a TLS failure) when no connection can be made.
   */
  async request(
    rawHeaders: readonly string[],
    endStream: boolean,
  ): Promise<{ stream: http2.ClientHttp2Stream } | undefined> {
    for (let connects = 0; ; ) {
      if (this.#http1Only) return undefined;
      if (this.#closed) throw new Error("the gateway's upstream connections are closed");
      let pooled = this.#withRoom();
      if (!pooled) {
        // A server that closes every new connection at once must not keep a request looping.
        if (++connects > 3) throw new Error("the API server closed three new HTTP/2 connections in a row");
        this.#connecting ??= this.#connect().finally(() => {
          this.#connecting = undefined;
        });
        pooled = await this.#connecting;
        if (!pooled) return undefined;
        if (!pooled.hasRoom) continue; // others took the new connection's room first
      }
      const stream = pooled.session.request(rawHeaders as string[], { endStream });
      pooled.opened(stream);
      return { stream };
    }
  }

  #withRoom(): PooledSession | undefined {
    for (const pooled of this.#sessions) if (pooled.hasRoom) return pooled;
    return undefined;
  }

  #connect(): Promise<PooledSession | undefined> {
    const { url, ca, cert, key } = this.#options;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host,
        port: Number(url.port || 443),
        servername: isIP(host) ? undefined : host,
        ca,
        cert,
        key,
        ALPNProtocols: ["h2", "http/1.1"],
      });
      socket.setNoDelay(true);
      socket.setTimeout(connectTimeoutMs, () => {
        const error: NodeJS.ErrnoException = new Error("connecting to the API server timed out");
        error.code = "ETIMEDOUT";
        socket.destroy(error);
      });
      socket.once("error", reject);
      socket.once("secureConnect", () => {
        socket.setTimeout(0);
        socket.removeListener("error", reject);
        if (socket.alpnProtocol !== "h2") {
          socket.destroy();
          this.#http1Only = true;
          this.#options.onHttp1Only?.();
          resolve(undefined);
          return;
        }
        const session = http2.connect(url.origin, {
          createConnection: () => socket,
          settings: { enablePush: false, initialWindowSize: streamWindowBytes },
          // Node refuses to send a header block over 64 KiB by default; the gateway accepts up to
          // --max-header-bytes from clients and adds the impersonation headers. kube-apiserver
          // takes 1 MiB (Go's http.DefaultMaxHeaderBytes) and answers larger ones itself.
          maxSendHeaderBlockLength: maxHeaderBlockBytes,
        });
        session.once("connect", () => session.setLocalWindowSize(connectionWindowBytes));
        const gauge = this.#options.connectionGauge;
        gauge?.inc();
        const pooled = new PooledSession(session, this.#timings, () => {
          this.#sessions.delete(pooled);
          gauge?.dec();
        });
        if (this.#closed) session.destroy();
        else this.#sessions.add(pooled);
        resolve(pooled);
      });
    });
  }

  /** Ends every connection now (the gateway is stopping; its streams were ended before). */
  close(): void {
    this.#closed = true;
    for (const pooled of this.#sessions) pooled.session.destroy();
    this.#sessions.clear();
  }
}
