import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenCache } from "../../src/authn/token-cache.ts";

const entry = (expiresAt: number) => ({ user: { username: "u", groups: [], extra: {} }, expiresAt });

describe("token cache", () => {
  it("keeps an identity for the TTL", () => {
    const cache = new TokenCache(10_000);
    cache.set("k", entry(1_000_000), 0);
    assert.ok(cache.get("k", 9_999));
    assert.equal(cache.get("k", 10_000), undefined);
  });

  it("never keeps an identity past the token's exp", () => {
    const cache = new TokenCache(10_000);
    cache.set("k", entry(3_000), 0);
    assert.ok(cache.get("k", 2_999));
    assert.equal(cache.get("k", 3_000), undefined);
  });

  it("keys by SHA-256, not by the token", () => {
    assert.equal(TokenCache.key("secret-token").includes("secret"), false);
    assert.equal(TokenCache.key("a"), TokenCache.key("a"));
  });

  it("stays bounded", () => {
    const cache = new TokenCache(10_000, 3);
    for (const k of ["a", "b", "c", "d"]) cache.set(k, entry(1_000_000), 0);
    assert.equal(cache.size, 3);
    assert.equal(cache.get("a", 1), undefined, "the oldest entry went first");
  });
});
