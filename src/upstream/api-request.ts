// A small JSON request to the API server with the gateway's own credentials: TokenReviews for
// passthrough, SubjectAccessReviews for nested impersonation.
import * as https from "node:https";
import type { Upstream } from "./cluster.ts";

export class ApiRequestError extends Error {}

export function postToApiServer<T>(
  upstream: Upstream,
  path: string,
  body: unknown,
  timeoutMs = 10_000,
  /** Further headers, e.g. Impersonate-* to ask as a user (repeated names allowed). */
  extraHeaders: readonly (readonly [string, string])[] = [],
): Promise<T> {
  const extra: Record<string, string[]> = {};
  for (const [name, value] of extraHeaders) extra[name] = [...(extra[name] ?? []), value];
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        protocol: "https:",
        hostname: upstream.url.hostname,
        port: upstream.url.port || 443,
        method: "POST",
        path,
        agent: upstream.agent,
        timeout: timeoutMs,
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "content-length": Buffer.byteLength(payload),
          ...(upstream.authorization ? { authorization: upstream.authorization } : {}),
          ...extra,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 201 && res.statusCode !== 200) {
            return reject(new ApiRequestError(`POST ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
          }
          try {
            resolve(JSON.parse(text) as T);
          } catch (error) {
            reject(new ApiRequestError(`POST ${path}: ${(error as Error).message}`));
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on("error", (error) => reject(new ApiRequestError(`POST ${path}: ${error.message}`)));
    req.end(payload);
  });
}
