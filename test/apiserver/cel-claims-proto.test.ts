// Claims are client input: a token may carry "__proto__" or "constructor" as claim names, and
// kube-apiserver's CEL sees them as ordinary keys (hardening round 2, finding 6 in src/authn).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { claimsValue } from "../../src/apiserver/cel.ts";

describe("claims as CEL sees them", () => {
  it("keeps a __proto__ claim as an own key instead of setting the prototype (regression)", () => {
    const claims = JSON.parse('{"__proto__": {"admin": true}, "sub": "x"}');
    const value = claimsValue(claims) as Record<string, unknown>;
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { admin: true });
    assert.equal((value as { admin?: unknown }).admin, undefined);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
  });

  it("adds the escaped name of a key even when it names an Object.prototype member", () => {
    // "constructor" is `in` every plain object: the escaped-name check must look at own keys only.
    const value = claimsValue(JSON.parse('{"a.b": 1, "constructor": 2}')) as Record<string, unknown>;
    assert.equal(value.a__dot__b, 1);
    assert.equal(Object.getOwnPropertyDescriptor(value, "constructor")?.value, 2);
  });
});
