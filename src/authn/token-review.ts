// Token passthrough (kube-oidc-proxy's --token-passthrough): a token that no configured issuer
// claims, e.g. a dashboard's own ServiceAccount token, is checked with a TokenReview by the API
// server; if it is valid, the request goes on with that token unchanged and no impersonation.
// Results are cached briefly, like kube-apiserver's webhook token cache; the API server checks
// the forwarded token again anyway, so the cache only saves a round trip.
import * as https from "node:https";
import type { Upstream } from "../upstream/cluster.ts";
import { AuthenticationError } from "./errors.ts";
import { TokenCache } from "./token-cache.ts";

export class TokenReviewer {
  readonly #upstream: Upstream;
  readonly #audiences: readonly string[];
  readonly #cache: TokenCache;

  constructor(upstream: Upstream, audiences: readonly string[], cacheTtlMs: number) {
    this.#upstream = upstream;
    this.#audiences = audiences;
    this.#cache = new TokenCache(cacheTtlMs);
  }

  /** Resolves with the username the API server reports, or throws an AuthenticationError. */
  async review(token: string): Promise<string> {
    const key = TokenCache.key(token);
    const cached = this.#cache.get(key);
    if (cached) return cached.user.username;
    const status = await this.#post({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token, ...(this.#audiences.length > 0 ? { audiences: [...this.#audiences] } : {}) },
    });
    if (status.authenticated !== true) {
      throw new AuthenticationError(
        "TOKEN_REVIEW_REFUSED",
        `TokenReview: not authenticated${status.error ? `: ${status.error}` : ""}`,
      );
    }
    const username = String(status.user?.username ?? "");
    this.#cache.set(key, { user: { username, groups: [], extra: {} }, expiresAt: Number.POSITIVE_INFINITY });
    return username;
  }

  #post(body: unknown): Promise<{ authenticated?: boolean; error?: string; user?: { username?: string } }> {
    const payload = JSON.stringify(body);
    const url = this.#upstream.url;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          protocol: "https:",
          hostname: url.hostname,
          port: url.port || 443,
          method: "POST",
          path: "/apis/authentication.k8s.io/v1/tokenreviews",
          agent: this.#upstream.agent,
          timeout: 10_000,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(payload),
            ...(this.#upstream.authorization ? { authorization: this.#upstream.authorization } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode !== 201 && res.statusCode !== 200) {
              return reject(new AuthenticationError("TOKEN_REVIEW_FAILED", `TokenReview: HTTP ${res.statusCode}`));
            }
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")).status ?? {});
            } catch (error) {
              reject(new AuthenticationError("TOKEN_REVIEW_FAILED", `TokenReview: ${(error as Error).message}`));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("TokenReview timed out")));
      req.on("error", (error) =>
        reject(new AuthenticationError("TOKEN_REVIEW_FAILED", `TokenReview: ${error.message}`)),
      );
      req.end(payload);
    });
  }
}
