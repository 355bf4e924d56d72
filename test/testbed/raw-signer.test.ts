import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { compactVerify, importJWK } from "jose";
import { generateIssuerKeys, keyByKid } from "../../testbed/issuer/keys.ts";
import { idTokenClaims, type JwtAlgorithm, mintJwt } from "../../testbed/issuer/raw-signer.ts";

const keys = generateIssuerKeys();
const decode = (segment: string) => JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));

describe("raw signer", () => {
  const signed: [JwtAlgorithm, string][] = [
    ["RS256", "rsa-1"],
    ["RS512", "rsa-1"],
    ["PS256", "rsa-1"],
    ["ES256", "ec-p256"],
    ["ES384", "ec-p384"],
    ["ES512", "ec-p521"],
    ["EdDSA", "ed25519"],
  ];
  for (const [alg, kid] of signed) {
    it(`signs ${alg} with ${kid} so a JOSE library verifies it with the public key`, async () => {
      const key = keyByKid(keys, kid);
      const token = mintJwt({ alg, key, claims: { sub: "x" } });
      const publicKey = await importJWK(key.publicJwk, alg);
      const { protectedHeader, payload } = await compactVerify(token, publicKey);
      assert.deepEqual(protectedHeader, { alg, typ: "JWT", kid });
      assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), { sub: "x" });
    });
  }

  it("signs with an unpublished key that the published keys do not verify", async () => {
    const token = mintJwt({ alg: "RS256", key: keyByKid(keys, "rogue-rsa"), header: { kid: "rsa-1" } });
    const published = await importJWK(keyByKid(keys, "rsa-1").publicJwk, "RS256");
    await assert.rejects(compactVerify(token, published), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    assert.equal(decode(token.split(".")[0] ?? "").kid, "rsa-1");
  });

  it("mints alg none with an empty signature", () => {
    const [header, , signature] = mintJwt({ alg: "none", claims: { sub: "x" } }).split(".");
    assert.deepEqual(decode(header ?? ""), { alg: "none", typ: "JWT" });
    assert.equal(signature, "");
  });

  it("mints an HS256 token keyed with a public key PEM (alg confusion)", () => {
    const pem = keyByKid(keys, "rsa-1").publicKey.export({ type: "spki", format: "pem" }).toString();
    const token = mintJwt({ alg: "HS256", hmacSecret: pem, claims: { sub: "x" } });
    const [header, payload, signature] = token.split(".");
    const expected = createHmac("sha256", pem).update(`${header}.${payload}`).digest("base64url");
    assert.equal(signature, expected);
  });

  it("uses a raw payload verbatim and lets the header be rewritten", () => {
    const rawPayload = '{"sub":"a","sub":"b"}';
    const token = mintJwt({
      alg: "RS256",
      key: keyByKid(keys, "rsa-1"),
      rawPayload,
      header: { typ: undefined, crit: ["exp"], kid: "other" },
    });
    const [header, payload] = token.split(".");
    assert.deepEqual(decode(header ?? ""), { alg: "RS256", kid: "other", crit: ["exp"] });
    assert.equal(Buffer.from(payload ?? "", "base64url").toString(), rawPayload);
  });

  it("builds id token claims relative to now", () => {
    const before = Math.floor(Date.now() / 1000);
    const claims = idTokenClaims({
      issuer: "https://i",
      audience: "a",
      subject: "s",
      expiresInSeconds: -30,
      notBeforeInSeconds: 120,
      extra: { email: "e" },
    });
    assert.equal(claims.iss, "https://i");
    assert.ok((claims.exp as number) <= before - 29 && (claims.exp as number) >= before - 31);
    assert.ok((claims.nbf as number) >= before + 119);
    assert.equal(claims.email, "e");
  });
});
