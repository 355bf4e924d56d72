// Validated identities by token hash, like kube-apiserver's token cache
// (k8s.io/apiserver@v0.37.2 pkg/authentication/token/cache/cached_token_authenticator.go):
// successes only, for a short TTL. Unlike it, never past the token's own exp: kube-apiserver keeps a
// success for its whole TokenSuccessCacheTTL (10 s, k8s.io/kubernetes@v1.37.2
// pkg/kubeapiserver/options/authentication.go) whatever exp says, so an expired token keeps working
// there for up to 10 s. A deliberate difference (docs/serve.md, "Where the gateway deliberately
// differs"), proved by test/authn/token-cache.test.ts "never keeps an identity past the token's exp"
// and against kube-apiserver by test/authn/differential-identity.test.ts. Keys are SHA-256
// digests, so the cache holds no token.
import { hash } from "node:crypto";
import type { AuthenticatedToken } from "./jwt-authenticator.ts";

interface Entry {
  readonly value: AuthenticatedToken;
  readonly until: number;
}

export class TokenCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  static key(token: string): string {
    // crypto.hash, the one-shot digest (Node ≥ 21.7): no Hash object per request, which
    // createHash(…).update(…).digest(…) built on every API request (1–2% of busy time in the
    // bench's profile; same digest, proved by test/authn/token-cache.test.ts).
    return hash("sha256", token, "base64url");
  }

  get(key: string, now = Date.now()): AuthenticatedToken | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: AuthenticatedToken, now = Date.now()): void {
    if (this.#ttlMs <= 0) return;
    const until = Math.min(now + this.#ttlMs, value.expiresAt);
    if (until <= now) return;
    if (this.#entries.size >= this.#maxEntries) {
      // Map iterates in insertion order: drop the oldest entry.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, until });
  }

  get size(): number {
    return this.#entries.size;
  }
}
