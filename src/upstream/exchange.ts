// One request to the API server and its response, the same to every caller whichever transport
// carries it: HTTP/2 streams over the shared connections (http2-sessions.ts), Node's HTTP/1.1
// keep-alive agent when the API server does not offer h2 or h2 is turned off, or a connection
// of its own for an upgrade (exec, attach, port-forward). The transports only move bytes; the
// limits every exchange is held to (response-head timeout, response-size cap) are composed once,
// over all of them, in limits.ts.
import * as http2 from "node:http2";
import * as https from "node:https";
import type { Duplex, Readable } from "node:stream";
import { Readable as ReadableStream } from "node:stream";
import { GatewayError } from "../errors.ts";
import type { Http2Sessions } from "./http2-sessions.ts";

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, …] with Host (HTTP/2 carries the authority in :authority instead). */
  readonly headers: readonly string[];
  /** The client's request body, when it has one. */
  readonly body?: Readable;
  /** Bound on the wait for the response head; 0: none (watches, logs that follow). */
  readonly timeoutMs: number;
  /**
   * Largest response body the caller will take: a larger one ends the exchange with
   * UpstreamResponseTooLarge. Unset: no bound (proxied responses stream with backpressure).
   */
  readonly maxResponseBytes?: number;
  /** An HTTP/1.1 Upgrade (exec, attach, port-forward): sent on a connection of its own. */
  readonly upgrade?: boolean;
  /**
   * A watch or a followed log: its response stays open. Such requests are what HTTP/2 saves
   * most on (a stream instead of a connection each, --upstream-http2=watches).
   */
  readonly longRunning?: boolean;
}

export interface UpstreamResponse {
  readonly status: number;
  /** HTTP/1.1's reason phrase, when the transport has one. */
  readonly statusMessage?: string;
  /** Flat [name, value, …], without HTTP/2 pseudo-headers. */
  readonly rawHeaders: readonly string[];
  readonly body: Readable;
  /** An upgrade the API server accepted (101): the connection, now the new protocol's. */
  readonly upgraded?: { readonly socket: Duplex; readonly head: Buffer };
}

export interface UpstreamExchange {
  /** Settles with the response head, or rejects with why none came. */
  readonly response: Promise<UpstreamResponse>;
  /** Ends the exchange: the client went away, or a limit was reached. */
  abort(): void;
}

/** No response head within the request's bound. */
export class UpstreamTimeoutError extends GatewayError {
  constructor(message = "the Kubernetes API server did not answer in time") {
    super("UPSTREAM_TIMEOUT", message);
  }
}

/** A response body larger than the request's maxResponseBytes. */
export class UpstreamResponseTooLarge extends GatewayError {
  constructor(limit: number) {
    super("UPSTREAM_RESPONSE_TOO_LARGE", `the API server's response is larger than ${limit} bytes`);
  }
}

/**
 * Node refused to put the request on the wire (a header or path it will not write): nothing
 * reached the API server, and nothing about the API server's health is known.
 */
export class UpstreamRequestInvalid extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super("UPSTREAM_REQUEST_INVALID", message, options);
  }
}

/** The TLS client settings of the gateway's connections to the API server. */
export interface UpstreamTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * One HTTP/1.1 exchange. `connection` is the keep-alive agent, or, for an upgrade, a connection
 * of its own (once switched it belongs to that stream alone): the response is then the 101 with
 * the connection in `upgraded`, or the API server's refusal with its body. Bytes after an upgrade
 * request's headers belong to the new protocol, so it has no body: the caller's headers carry
 * Content-Length: 0 (see the API proxy).
 */
function http1Exchange(
  connection: { readonly agent: https.Agent } | { readonly tls: UpstreamTls },
  url: URL,
  request: UpstreamRequest,
): UpstreamExchange {
  let upstreamReq: ReturnType<typeof https.request> | undefined;
  let switched = false;
  const response = new Promise<UpstreamResponse>((resolve, reject) => {
    try {
      upstreamReq = https.request({
        protocol: "https:",
        hostname: url.hostname,
        port: url.port || 443,
        method: request.method,
        path: request.path,
        headers: request.headers as string[],
        ...("agent" in connection ? { agent: connection.agent } : { agent: false, ...connection.tls }),
      });
    } catch (error) {
      reject(new UpstreamRequestInvalid((error as Error).message, { cause: error }));
      return;
    }
    const req = upstreamReq;
    req.on("upgrade", (res, socket, head) => {
      switched = true;
      res.resume();
      resolve({
        status: 101,
        statusMessage: res.statusMessage,
        rawHeaders: res.rawHeaders,
        body: ReadableStream.from([]),
        upgraded: { socket, head },
      });
    });
    req.on("response", (res) => {
      resolve({
        status: res.statusCode ?? 502,
        statusMessage: res.statusMessage,
        rawHeaders: res.rawHeaders,
        body: res,
      });
    });
    req.on("error", reject);
    if (request.body && !request.upgrade) request.body.pipe(req);
    else req.end();
  });
  // Ending the request ends its answer too; once switched, the socket belongs to whoever splices it.
  return { response, abort: () => void (switched ? undefined : upstreamReq?.destroy()) };
}

/** Over Node's HTTP/1.1 keep-alive agent. */
export function viaHttp1(agent: https.Agent, url: URL, request: UpstreamRequest): UpstreamExchange {
  return http1Exchange({ agent }, url, request);
}

/** An upgrade (exec, attach, port-forward) on a connection of its own, with the upstream's TLS settings. */
export function viaUpgrade(tls: UpstreamTls, url: URL, request: UpstreamRequest): UpstreamExchange {
  return http1Exchange({ tls }, url, request);
}

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;
const ignore = () => {};

/**
 * Over the shared HTTP/2 connections; through `http1()` instead when they found that the API
 * server speaks only HTTP/1.1.
 */
export function viaHttp2(
  sessions: Http2Sessions,
  request: UpstreamRequest,
  http1: () => UpstreamExchange,
): UpstreamExchange {
  const raw: string[] = [":method", request.method, ":path", request.path];
  const headers = request.headers;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] ?? "";
    if (name.length === 4 && name.toLowerCase() === "host") continue;
    raw.push(name, headers[i + 1] ?? "");
  }
  let stream: http2.ClientHttp2Stream | undefined;
  let delegate: UpstreamExchange | undefined;
  let aborted = false;

  const attempt = async (retried: boolean): Promise<UpstreamResponse> => {
    let opened: Awaited<ReturnType<Http2Sessions["request"]>>;
    try {
      opened = await sessions.request(raw, request.body === undefined);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      // Node's header checks (ERR_INVALID_CHAR, ERR_HTTP2_INVALID_HEADER_VALUE, …) throw from
      // request(); connection failures carry the socket's code (ECONNREFUSED, …).
      if (code.startsWith("ERR_INVALID") || code.startsWith("ERR_HTTP2_INVALID_")) {
        throw new UpstreamRequestInvalid((error as Error).message, { cause: error });
      }
      throw error;
    }
    if (!opened) {
      delegate = http1();
      if (aborted) delegate.abort();
      return delegate.response;
    }
    const current = opened.stream;
    stream = current;
    if (aborted) current.close(NGHTTP2_CANCEL);
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let retrying = false;
      const onResponse = (head: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        // From here the body's reader owns the stream's errors; these listeners would only hold
        // this exchange's state for the life of a watch.
        current.off("error", onError);
        current.off("close", onClose);
        current.on("error", ignore);
        const plain: string[] = [];
        for (let i = 0; i < rawHeaders.length; i += 2) {
          if (rawHeaders[i]?.charCodeAt(0) !== 58 /* ":" */) plain.push(rawHeaders[i] ?? "", rawHeaders[i + 1] ?? "");
        }
        resolve({ status: Number(head[":status"]), rawHeaders: plain, body: current });
      };
      const onError = (error: NodeJS.ErrnoException) => {
        // Refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream id): safe to send
        // again, once, when there is no body that was already consumed.
        const refused = current.rstCode === NGHTTP2_REFUSED_STREAM || error.code === "ERR_HTTP2_GOAWAY_SESSION";
        if (refused && !retried && !aborted && request.body === undefined) {
          retrying = true;
          attempt(true).then(resolve, reject);
          return;
        }
        reject(error);
      };
      // A stream that ends without a response head and without an error.
      const onClose = () => {
        if (!retrying) reject(new Error("the API server closed the stream without answering"));
      };
      current.once("response", onResponse);
      current.on("error", onError);
      current.once("close", onClose);
      if (request.body) request.body.pipe(current);
    });
  };

  return {
    response: attempt(false),
    abort: () => {
      aborted = true;
      stream?.close(NGHTTP2_CANCEL);
      delegate?.abort();
    },
  };
}
