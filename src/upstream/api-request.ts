// A small JSON request to the API server with the gateway's own credentials: TokenReviews for
// passthrough, SubjectAccessReviews for nested impersonation, SelfSubjectRulesReviews for the
// whoami page. It goes through Upstream.send like every proxied request, so the same transports
// and limits apply; a review's answer is read whole, so its size is bounded.
import { Readable } from "node:stream";
import { GatewayError } from "../errors.ts";
import type { Upstream } from "./cluster.ts";

/** The largest review answer read (a SelfSubjectRulesReview of a broad role is tens of KiB). */
export const reviewResponseMaxBytes = 4 * 1024 * 1024;

export class ApiRequestError extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super("API_REQUEST_FAILED", message, options);
  }
}

export async function postToApiServer<T>(
  upstream: Pick<Upstream, "send" | "url" | "authorization">,
  path: string,
  body: unknown,
  timeoutMs = 10_000,
  /** Further headers, e.g. Impersonate-* to ask as a user (repeated names allowed). */
  extraHeaders: readonly (readonly [string, string])[] = [],
): Promise<T> {
  const payload = Buffer.from(JSON.stringify(body));
  const headers = [
    "Host",
    upstream.url.host,
    "Content-Type",
    "application/json",
    "Accept",
    "application/json",
    "Content-Length",
    String(payload.length),
  ];
  if (upstream.authorization) headers.push("Authorization", upstream.authorization);
  for (const [name, value] of extraHeaders) headers.push(name, value);
  const exchange = upstream.send({
    method: "POST",
    path,
    headers,
    body: Readable.from([payload]),
    timeoutMs,
    maxResponseBytes: reviewResponseMaxBytes,
  });
  // The whole exchange, body included, within the bound (the head's timeout is the transport's).
  const timer = setTimeout(() => exchange.abort(), timeoutMs);
  try {
    const res = await exchange.response;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if (res.status !== 201 && res.status !== 200) {
      throw new ApiRequestError(`POST ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new ApiRequestError(`POST ${path}: ${(error as Error).message}`);
    }
  } catch (error) {
    if (error instanceof ApiRequestError) throw error;
    throw new ApiRequestError(`POST ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
