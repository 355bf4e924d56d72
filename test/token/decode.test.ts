import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeToken, TokenDecodeError } from "../../src/token/decode.ts";

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims: unknown, header: unknown = { alg: "RS256", kid: "k1" }) => `${part(header)}.${part(claims)}.c2ln`;

describe("decodeToken", () => {
  it("shows time claims absolute and relative, and the lifetime", () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    const iat = now / 1000 - 60;
    const decoded = decodeToken(jwt({ iss: "https://issuer", iat, exp: iat + 300, auth_time: iat }), now);
    assert.deepEqual(
      decoded.times.map((t) => [t.claim, t.relative]),
      [
        ["iat", "1m ago"],
        ["exp", "in 4m"],
        ["auth_time", "1m ago"],
      ],
    );
    assert.equal(decoded.times[1]?.iso, "2026-11-23T12:04:00.000Z");
    assert.equal(decoded.lifetimeMs, 300_000);
    assert.match(decoded.fingerprint, /^[0-9a-f]{12}$/);
  });

  it("says what a token is when it is not a JWT", () => {
    const code = (raw: string) => {
      try {
        decodeToken(raw);
        return "decoded";
      } catch (error) {
        assert.ok(error instanceof TokenDecodeError);
        return error.code;
      }
    };
    assert.equal(code("opaque-access-token"), "NOT_A_JWT");
    assert.equal(code("a.b.c.d.e"), "ENCRYPTED_TOKEN");
    assert.equal(code(`${part({ alg: "RS256" })}.not*base64.sig`), "BAD_BASE64URL");
    assert.equal(code(`${part({ alg: "RS256" })}.${Buffer.from("{oops").toString("base64url")}.sig`), "BAD_JSON");
    assert.equal(code(`${part({ alg: "RS256" })}.${part([1, 2])}.sig`), "NOT_AN_OBJECT");
  });
});

describe("decodeToken with times no calendar holds", () => {
  it("shows exp: 1e300 as a number instead of throwing RangeError", () => {
    const decoded = decodeToken(jwt({ iss: "https://issuer", exp: 1e300, iat: 1 }));
    assert.equal(decoded.claims.exp, 1e300);
    assert.deepEqual(
      decoded.times.map((t) => t.claim),
      ["iat"],
    );
  });
});
