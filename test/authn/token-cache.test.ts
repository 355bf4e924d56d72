import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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

  it("keys by the token's SHA-256, not by the token", () => {
    const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl";
    // SHA-256 of the token's UTF-8 bytes, computed here independently of the code (base64url,
    // the form src/authn/token-cache.ts uses).
    const expected = createHash("sha256").update(Buffer.from(token, "utf8")).digest("base64url");
    assert.equal(TokenCache.key(token), expected);
    assert.equal(TokenCache.key(token).includes("eyJ"), false, "no part of the token in its key");
    // One character apart, as a forged token may be: different keys, so one token's cached
    // identity never answers for the other.
    const altered = `${token.slice(0, -1)}Z`;
    assert.notEqual(altered, token);
    assert.notEqual(TokenCache.key(altered), TokenCache.key(token));
    const cache = new TokenCache(10_000);
    cache.set(TokenCache.key(token), entry(1_000_000), 0);
    assert.ok(cache.get(TokenCache.key(token), 1));
    assert.equal(cache.get(TokenCache.key(altered), 1), undefined);
  });

  it("stays bounded", () => {
    const cache = new TokenCache(10_000, 3);
    for (const k of ["a", "b", "c", "d"]) cache.set(k, entry(1_000_000), 0);
    assert.equal(cache.size, 3);
    assert.equal(cache.get("a", 1), undefined, "the oldest entry went first");
  });
});
