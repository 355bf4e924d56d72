// Token passthrough (kube-oidc-proxy's --token-passthrough): a token that no configured issuer
// claims, e.g. a dashboard's own ServiceAccount token, is checked with a TokenReview by the API
// server; if it is valid, the request goes on with that token unchanged and no impersonation.
// Results are cached briefly, like kube-apiserver's webhook token cache; the API server checks
// the forwarded token again anyway, so the cache only saves a round trip.
import { postToApiServer } from "../upstream/api-request.ts";
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
    let status: { authenticated?: boolean; error?: string; user?: { username?: string } };
    try {
      const review = await postToApiServer<{ status?: typeof status }>(
        this.#upstream,
        "/apis/authentication.k8s.io/v1/tokenreviews",
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, ...(this.#audiences.length > 0 ? { audiences: [...this.#audiences] } : {}) },
        },
      );
      status = review.status ?? {};
    } catch (error) {
      throw new AuthenticationError("TOKEN_REVIEW_FAILED", `TokenReview: ${(error as Error).message}`);
    }
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
}
