// id-token-verifier.ts's time checks at their edges, against go-oidc v2.5.0 verify.go
// (t.Expiry.Before(now), now.Add(1 minute).Before(nbf)) with the clock mocked to the millisecond.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { afterEach, describe, it, mock } from "node:test";
import { verifyIdToken } from "../../src/apiserver/id-token-verifier.ts";
import { parseToken } from "../../src/apiserver/jws.ts";
import { AuthenticationError } from "../../src/authn/errors.ts";
import type { IssuerKeys } from "../../src/authn/issuer-keys.ts";
import { mintJwt } from "../../testbed/issuer/raw-signer.ts";

const issuerUrl = "https://issuer.example";
const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const signingKey = {
  kid: "k1",
  privateKey: pair.privateKey,
  publicKey: pair.publicKey,
  privateJwk: pair.privateKey.export({ format: "jwk" }),
  publicJwk: pair.publicKey.export({ format: "jwk" }),
};
const keys = {
  notReadyReason: undefined,
  candidates: (kid: string | undefined) =>
    kid === undefined || kid === "k1" ? [{ kid: "k1", key: pair.publicKey }] : [],
  refresh: async () => false,
} as unknown as IssuerKeys;
const expected = { issuerUrl, audiences: ["kubernetes"], algorithms: ["ES256"] };

/** The verdict on a token with these times, at `nowMs`. */
async function verdictAt(nowMs: number, times: Record<string, number>): Promise<string> {
  const raw = mintJwt({
    alg: "ES256",
    key: signingKey,
    claims: { iss: issuerUrl, aud: "kubernetes", sub: "s", ...times },
  });
  const parsed = parseToken(raw);
  assert.ok(parsed);
  mock.timers.enable({ apis: ["Date"], now: nowMs });
  try {
    await verifyIdToken(parsed, keys, expected);
    return "ok";
  } catch (error) {
    assert.ok(error instanceof AuthenticationError, String(error));
    return error.code;
  } finally {
    mock.timers.reset();
  }
}

describe("id-token-verifier: times at their edges", () => {
  afterEach(() => mock.timers.reset());
  const exp = 1_800_000_000;

  it("exp: valid before its second, expired from its first millisecond (Go's now has nanoseconds)", async () => {
    assert.equal(await verdictAt(exp * 1000 - 1, { exp }), "ok");
    assert.equal(await verdictAt(exp * 1000, { exp }), "EXPIRED");
    assert.equal(await verdictAt(exp * 1000 + 1, { exp }), "EXPIRED");
  });

  it("nbf: one minute of leeway, to the millisecond", async () => {
    const nbf = exp - 600;
    assert.equal(await verdictAt((nbf - 60) * 1000 - 1, { exp, nbf }), "NOT_YET_VALID");
    assert.equal(await verdictAt((nbf - 60) * 1000, { exp, nbf }), "ok");
  });

  it("exp past time.Unix's int64 wrap is expired; nbf there is past", async () => {
    assert.equal(await verdictAt(exp * 1000 - 10_000, { exp: 9.3e18 }), "EXPIRED");
    assert.equal(await verdictAt(exp * 1000 - 10_000, { exp, nbf: 9.3e18 }), "ok");
  });
});
