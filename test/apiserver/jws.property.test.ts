// Property tests of the token parser and verifier (src/authn/jwt-authenticator.ts parseToken,
// id-token-verifier.ts, go-json.ts): whatever bytes or claims come in, they throw nothing but
// the documented errors (AuthenticationError, GoTypeError), refuse what kube-apiserver's Go code
// refuses, and decode what it decodes.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodeRawBase64Url,
  exceedsGoNestingDepth,
  GoTypeError,
  goBool,
  goString,
  goStringOrArray,
  goStringSlice,
} from "../../src/apiserver/go-json.ts";
import { goJsonTime } from "../../src/apiserver/go-time.ts";
import { verifyIdToken } from "../../src/apiserver/id-token-verifier.ts";
import { parseToken } from "../../src/apiserver/jws.ts";
import { AuthenticationError } from "../../src/authn/errors.ts";
import type { IssuerKeys } from "../../src/authn/issuer-keys.ts";
import { base64url, mintJwt } from "../../testbed/issuer/raw-signer.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const issuerUrl = "https://issuer.example";
const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const signingKey = {
  kid: "k1",
  privateKey: pair.privateKey,
  publicKey: pair.publicKey,
  privateJwk: pair.privateKey.export({ format: "jwk" }),
  publicJwk: pair.publicKey.export({ format: "jwk" }),
};
/** A key set holding the one key, as IssuerKeys.candidates answers (all keys when no kid). */
const keys = {
  notReadyReason: undefined,
  candidates: (kid: string | undefined) =>
    kid === undefined || kid === "k1" ? [{ kid: "k1", key: pair.publicKey }] : [],
  refresh: async () => false,
} as unknown as IssuerKeys;
const expected = { issuerUrl, audiences: ["kubernetes"], algorithms: ["ES256"] };

const now = () => Math.floor(Date.now() / 1000);
const goodClaims = () => ({ iss: issuerUrl, aud: "kubernetes", sub: "s", exp: now() + 600 });
const mint = (claims: Record<string, unknown> | string, header: Record<string, unknown> = {}) =>
  mintJwt({
    alg: "ES256",
    key: signingKey,
    header,
    ...(typeof claims === "string" ? { rawPayload: claims } : { claims }),
  });

/** Runs verifyIdToken on a raw token; resolves with the error code, or "ok". */
async function verdict(raw: string): Promise<string> {
  const parsed = parseToken(raw);
  if (!parsed) return "MALFORMED";
  try {
    await verifyIdToken(parsed, keys, expected);
    return "ok";
  } catch (error) {
    assert.ok(error instanceof AuthenticationError, `threw ${String(error)}`);
    return error.code;
  }
}

/** Nesting depth as encoding/json's scanner counts it (every open array or object). */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === "object") return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

describe("parseToken", () => {
  it("never throws, whatever the string", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.array(fc.stringMatching(/^[A-Za-z0-9_=\-. +/]{0,30}$/), { maxLength: 6 }).map((p) => p.join(".")),
        ),
        (raw) => {
          parseToken(raw);
        },
      ),
      propertyParameters(),
    );
  });

  it("reads the payload exactly when it is a JSON object with a string or null iss", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.oneof(fc.string(), fc.constant(null), fc.integer()),
        (json, iss) => {
          const payload =
            json !== null && typeof json === "object" && !Array.isArray(json) ? { ...json, iss } : (json as unknown);
          const raw = `${base64url('{"alg":"ES256"}')}.${base64url(JSON.stringify(payload))}.sig`;
          const parsed = parseToken(raw);
          const readable =
            payload !== null && typeof payload === "object" && !Array.isArray(payload) && typeof iss !== "number";
          assert.equal(parsed !== undefined, readable);
          if (parsed) assert.equal(parsed.issuer, iss ?? "");
        },
      ),
      propertyParameters(),
    );
  });

  it("refuses a payload nested deeper than encoding/json allows (regression: 10 001 levels were accepted)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 9_990, max: 10_010 }), (arrays) => {
        const payload = `{"iss":"${issuerUrl}","x":${"[".repeat(arrays)}${"]".repeat(arrays)}}`;
        const parsed = parseToken(`e30.${base64url(payload)}.sig`);
        assert.equal(parsed === undefined, arrays + 1 > 10_000);
      }),
      propertyParameters(0.1),
    );
  });
});

describe("go-json helpers", () => {
  it("count nesting as encoding/json does, brackets inside strings not counted", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 7 }), (value, max) => {
        assert.equal(exceedsGoNestingDepth(JSON.stringify(value), max), depthOf(value) > max);
      }),
      propertyParameters(),
    );
  });

  it("decode strict raw base64url and nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const encoded = Buffer.from(bytes).toString("base64url");
        assert.deepEqual(decodeRawBase64Url(encoded), Buffer.from(bytes));
        if (bytes.length % 3 !== 0) assert.equal(decodeRawBase64Url(`${encoded}=`), undefined);
        assert.equal(decodeRawBase64Url(`${encoded.slice(0, 1)} ${encoded.slice(1)}`), undefined);
        const standard = Buffer.from(bytes).toString("base64");
        if (/[+/=]/.test(standard)) assert.equal(decodeRawBase64Url(standard), undefined);
      }),
      propertyParameters(),
    );
  });

  it("throw only GoTypeError, and goJsonTime always gives an int64 or throws", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.double({ noNaN: true }), fc.constant(1e300), fc.constant(-1e300)),
        (value) => {
          for (const decode of [goString, goBool, goStringSlice, goStringOrArray]) {
            try {
              decode(value);
            } catch (error) {
              assert.ok(error instanceof GoTypeError, String(error));
            }
          }
          try {
            const seconds = goJsonTime(value, () => (typeof value === "number" ? String(value) : undefined));
            assert.ok(Number.isInteger(seconds) && Math.abs(seconds) <= 2 ** 63, String(seconds));
          } catch (error) {
            assert.ok(error instanceof Error, String(error));
          }
        },
      ),
      propertyParameters(),
    );
  });
});

describe("verifyIdToken", () => {
  const timeValue = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(1e300, -1e300, 9e12, -9e12, 2 ** 63, "9999999999", "1e3", null, true, "", [], {}),
  );

  it("throws nothing but AuthenticationError for any time claims (regression: exp 1e300 answered 500)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ exp: timeValue, nbf: timeValue, iat: timeValue }, { requiredKeys: [] }),
        async (times) => {
          await verdict(mint({ ...goodClaims(), ...times }));
        },
      ),
      propertyParameters(0.5),
    );
  });

  it("throws nothing but AuthenticationError for any header fields", async () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ kid: field, jwk: field, x5c: field, crit: field, b64: field, nonce: field }, { requiredKeys: [] }),
        async (header) => {
          await verdict(mint(goodClaims(), header));
        },
      ),
      propertyParameters(0.5),
    );
  });

  it("refuses a kid that is not a string (regression: a numeric kid tried every key)", async () => {
    assert.equal(await verdict(mint(goodClaims(), { kid: 1 })), "BAD_SIGNATURE");
    assert.equal(await verdict(mint(goodClaims(), { kid: ["k1"] })), "BAD_SIGNATURE");
    assert.equal(await verdict(mint(goodClaims(), { kid: null })), "ok");
    assert.equal(await verdict(mint(goodClaims())), "ok");
  });

  it("refuses b64=false, whose signed payload is not the decoded one (regression: accepted)", async () => {
    assert.equal(await verdict(mint(goodClaims(), { b64: false, crit: ["b64"] })), "BAD_SIGNATURE");
  });

  it("refuses an embedded jwk or x5c go-jose cannot read", async () => {
    assert.equal(await verdict(mint(goodClaims(), { jwk: { kty: "nope" } })), "BAD_SIGNATURE");
    assert.equal(await verdict(mint(goodClaims(), { x5c: ["bm90IGEgY2VydA=="] })), "BAD_SIGNATURE");
    assert.equal(await verdict(mint(goodClaims(), { jwk: signingKey.publicJwk })), "ok");
  });

  it("refuses a time literal beyond float64, as json.Number does (regression: iat 1e400 was accepted)", async () => {
    const payload = (iat: string) =>
      `{"iss":"${issuerUrl}","aud":"kubernetes","sub":"s","exp":${now() + 600},"iat":${iat}}`;
    assert.equal(await verdict(mint(payload("1e400"))), "BAD_CLAIMS");
    assert.equal(await verdict(mint(payload('"-1e400"'))), "BAD_CLAIMS");
    assert.equal(await verdict(mint(payload("1e300"))), "ok");
    assert.throws(() => goJsonTime(Number.POSITIVE_INFINITY, () => "1e400"));
  });

  it("refuses exp and nbf beyond what a Date holds as expired / not yet valid (regression: 500)", async () => {
    assert.equal(await verdict(mint({ ...goodClaims(), exp: 1e300 })), "EXPIRED");
    assert.equal(await verdict(mint({ ...goodClaims(), nbf: 9e12 })), "NOT_YET_VALID");
  });
});
