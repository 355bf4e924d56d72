// The limits every exchange with the API server is held to, composed once over every transport
// (HTTP/1.1, HTTP/2, upgrades) in the shape of undici's interceptors: a function from an exchange
// to an exchange. Proxied requests, upgrades and the gateway's own reviews all pass through
// Upstream.send, so a bound added here holds for each of them.
import { Transform, type TransformCallback } from "node:stream";
import {
  type UpstreamExchange,
  type UpstreamRequest,
  type UpstreamResponse,
  UpstreamResponseTooLarge,
  UpstreamTimeoutError,
} from "./exchange.ts";

/**
 * The response head must arrive within `request.timeoutMs` (0: no bound, for watches and
 * followed logs, whose head kube-apiserver sends at once anyway). On expiry the exchange is
 * aborted (its connection or stream ends) and the caller gets UpstreamTimeoutError.
 */
function withHeadTimeout(exchange: UpstreamExchange, request: UpstreamRequest): UpstreamExchange {
  if (request.timeoutMs <= 0) return exchange;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      exchange.abort();
      reject(new UpstreamTimeoutError());
    }, request.timeoutMs);
  });
  // The transport's own rejection after the abort is expected and already answered.
  exchange.response.catch(() => {});
  const response = Promise.race([exchange.response, expired]).finally(() => clearTimeout(timer));
  return { response, abort: exchange.abort };
}

/** Counts the body's bytes and ends it with UpstreamResponseTooLarge past `limit`. */
class ByteCap extends Transform {
  readonly #limit: number;
  #seen = 0;
  constructor(limit: number) {
    super();
    this.#limit = limit;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) callback(new UpstreamResponseTooLarge(this.#limit));
    else callback(null, chunk);
  }
}

/**
 * A response body no larger than `request.maxResponseBytes`: one whose Content-Length says more
 * is refused before it is read; any other is cut (and its exchange aborted) at the limit.
 */
function withResponseCap(exchange: UpstreamExchange, request: UpstreamRequest): UpstreamExchange {
  const limit = request.maxResponseBytes;
  if (limit === undefined) return exchange;
  const response = exchange.response.then((res): UpstreamResponse => {
    if (res.upgraded) return res;
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      if (res.rawHeaders[i]?.toLowerCase() === "content-length" && Number(res.rawHeaders[i + 1]) > limit) {
        exchange.abort();
        res.body.destroy();
        throw new UpstreamResponseTooLarge(limit);
      }
    }
    const capped = new ByteCap(limit);
    res.body.on("error", (error) => capped.destroy(error));
    capped.on("close", () => {
      if (!capped.writableFinished) {
        exchange.abort();
        res.body.destroy();
      }
    });
    res.body.pipe(capped);
    return { ...res, body: capped };
  });
  return { response, abort: exchange.abort };
}

/** Every limit, in order: the head's timeout, then the body's size. */
export function withLimits(exchange: UpstreamExchange, request: UpstreamRequest): UpstreamExchange {
  return withResponseCap(withHeadTimeout(exchange, request), request);
}
