// Properties of the JWS reading ported from go-jose v2.6.3 (src/apiserver/jws.ts): ParseSigned
// strips white space and decodes with Go's RawURLEncoding, computeAuthData signs over its own
// re-encoding of the header and payload (or the raw payload when b64 is false), DetachedVerify
// checks crit only for unsupported names, and the header goes through go-jose's JSON fork
// (duplicate members refused). The differential suite (test/authn/differential-jws.test.ts)
// checks the same against kube-apiserver; these run without it, many more times.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { verifyIdToken } from "../../src/apiserver/id-token-verifier.ts";
import { goRawUrlDecode, parseToken } from "../../src/apiserver/jws.ts";
import { AuthenticationError } from "../../src/authn/errors.ts";
import type { IssuerKeys } from "../../src/authn/issuer-keys.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const issuerUrl = "https://issuer.example";
const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const keys = {
  notReadyReason: undefined,
  candidates: (kid: string | undefined) =>
    kid === undefined || kid === "k1" ? [{ kid: "k1", key: pair.publicKey }] : [],
  refresh: async () => false,
} as unknown as IssuerKeys;
const expected = { issuerUrl, audiences: ["kubernetes"], algorithms: ["ES256"] };
const claims = () =>
  JSON.stringify({ iss: issuerUrl, aud: "kubernetes", sub: "s", exp: Math.floor(Date.now() / 1000) + 600 });

/** A compact ES256 token over `header`, signed over the encoded or the raw payload. */
function token(header: string | Buffer, options: { unencoded?: boolean; payload?: string } = {}) {
  const h = Buffer.from(header).toString("base64url");
  const payload = Buffer.from(options.payload ?? claims());
  const input = Buffer.concat([
    Buffer.from(`${h}.`),
    options.unencoded ? payload : Buffer.from(payload.toString("base64url")),
  ]);
  const signature = sign("sha256", input, { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
  return { h, p: payload.toString("base64url"), s: signature.toString("base64url") };
}

async function verdict(raw: string): Promise<string> {
  const parsed = parseToken(raw);
  if (!parsed) return "NOT_ROUTED";
  try {
    await verifyIdToken(parsed, keys, expected);
    return "ok";
  } catch (error) {
    if (error instanceof AuthenticationError) return error.code;
    throw error;
  }
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The same bytes to Go's lenient decoder: the unused low bits of the last character changed. */
function spareBits(segment: string, bits: number): string {
  const unused = segment.length % 4 === 2 ? 4 : segment.length % 4 === 3 ? 2 : 0;
  if (unused === 0) return segment;
  const last = alphabet.indexOf(segment.at(-1) ?? "A");
  return segment.slice(0, -1) + alphabet[(last & ~((1 << unused) - 1)) | (bits & ((1 << unused) - 1))];
}

describe("go-jose's ParseSigned and computeAuthData", () => {
  it("verify whatever white space or spare bits the header and signature segments carry", async () => {
    const spaces = fc.constantFrom("\t", " ", "\u00c2\u00a0", "\u00e3\u0080\u0080", "\r\n");
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 12 }),
        fc.nat(15),
        fc.nat(15),
        fc.array(fc.tuple(fc.nat(600), spaces), { maxLength: 3 }),
        async (extra, headerBits, signatureBits, insertions) => {
          const { h, p, s } = token(JSON.stringify({ alg: "ES256", kid: "k1", extra }));
          let raw = `${spareBits(h, headerBits)}.${p}.${spareBits(s, signatureBits)}`;
          // At places of the token as minted (last first), never inside the payload: untrustedIssuer
          // decodes it as sent.
          const [first, second] = [raw.indexOf("."), raw.lastIndexOf(".")];
          const places = insertions
            .map(([at, space]) => [at % (raw.length + 1), space] as const)
            .filter(([where]) => where <= first || where > second)
            .sort(([a], [b]) => b - a);
          for (const [where, space] of places) raw = raw.slice(0, where) + space + raw.slice(where);
          assert.equal(await verdict(raw), "ok", JSON.stringify(raw));
        },
      ),
      propertyParameters(0.5),
    );
  });

  it("refuse `=` padding and the standard alphabet in any segment", async () => {
    const { h, p, s } = token(JSON.stringify({ alg: "ES256", kid: "k1", x: "aaa" }));
    for (const raw of [`${h}=.${p}.${s}`, `${h}.${p}.${s}==`, `${h}.${p}=.${s}`]) {
      assert.notEqual(await verdict(raw), "ok", raw);
    }
  });

  it("sign over the raw payload exactly when b64 is false, crit or no crit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(false, true, "false", 0, null, undefined),
        fc.constantFrom(undefined, null, [], ["b64"], ["b64", "b64"], [null], ["x"], "b64", {}),
        fc.boolean(),
        async (b64, crit, unencoded) => {
          const header = JSON.stringify({ alg: "ES256", kid: "k1", b64, crit });
          const { h, p, s } = token(header, { unencoded });
          const critOk = crit === undefined || crit === null || (Array.isArray(crit) && crit.every((c) => c === "b64"));
          const expectOk = critOk && (b64 === false) === unencoded;
          assert.equal(await verdict(`${h}.${p}.${s}`), expectOk ? "ok" : "BAD_SIGNATURE", header);
        },
      ),
      propertyParameters(0.2),
    );
  });
});

describe("go-jose's JSON fork on the protected header", () => {
  it("accepts any header without duplicate members, and refuses one duplicated at any depth", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
        fc.boolean(),
        async (extra, duplicate) => {
          const value = Object.fromEntries(
            Object.entries(extra).filter(([k]) => !["alg", "kid", "jwk", "x5c", "nonce", "crit", "b64"].includes(k)),
          );
          let text = JSON.stringify({ alg: "ES256", kid: "k1", x: value });
          // A member repeated inside the nested object (its first member, written again).
          const first = Object.keys(value)[0];
          if (duplicate && first !== undefined) text = text.replace('"x":{', `"x":{${JSON.stringify(first)}:0,`);
          const { h, p, s } = token(text);
          const refused = duplicate && first !== undefined;
          // go-oidc reports it as a malformed jwt (BAD_SIGNATURE here).
          assert.equal(await verdict(`${h}.${p}.${s}`), refused ? "BAD_SIGNATURE" : "ok", text);
        },
      ),
      propertyParameters(0.4),
    );
  });

  it("never throws anything but AuthenticationError, whatever the header bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 60 }), async (bytes) => {
        const { h, p, s } = token(Buffer.from(bytes));
        await verdict(`${h}.${p}.${s}`);
      }),
      propertyParameters(0.4),
    );
  });

  it("Go's RawURLEncoding: the URL alphabet only, '\\r' and '\\n' skipped, no lone last character", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."AZaz09-_+/=\r\n \t".split("")), maxLength: 12 }), (text) => {
        const clean = text.replace(/[\r\n]/g, "");
        const valid = /^[A-Za-z0-9_-]*$/.test(clean) && clean.length % 4 !== 1;
        const decoded = goRawUrlDecode(text);
        assert.equal(decoded !== undefined, valid, JSON.stringify(text));
        if (decoded) assert.ok(decoded.equals(Buffer.from(clean, "base64url")));
      }),
      propertyParameters(),
    );
  });
});

describe("Go's crypto/rsa on the verifying key", () => {
  const rsaVerdict = async (modulusLength: number, publicExponent = 65537) => {
    const rsa = generateKeyPairSync("rsa", { modulusLength, publicExponent });
    const h = Buffer.from(JSON.stringify({ alg: "RS256" })).toString("base64url");
    const p = Buffer.from(claims()).toString("base64url");
    const s = sign("sha256", Buffer.from(`${h}.${p}`), rsa.privateKey).toString("base64url");
    const parsed = parseToken(`${h}.${p}.${s}`);
    assert.ok(parsed);
    const rsaKeys = {
      notReadyReason: undefined,
      candidates: () => [{ kid: undefined, key: rsa.publicKey }],
      refresh: async () => false,
    } as unknown as IssuerKeys;
    try {
      await verifyIdToken(parsed, rsaKeys, { ...expected, algorithms: ["RS256"] });
      return "ok";
    } catch (error) {
      return (error as AuthenticationError).code;
    }
  };

  it("refuses a key under 1024 bits (rsa1024min; regression: jose's 2048-bit floor refused 1024-bit keys)", async () => {
    assert.equal(await rsaVerdict(1024), "ok");
    assert.equal(await rsaVerdict(1016), "BAD_SIGNATURE");
    assert.equal(await rsaVerdict(512), "BAD_SIGNATURE");
  });

  it("refuses an exponent Go's checkPublicKey refuses (over 2^31-1)", async () => {
    assert.equal(await rsaVerdict(1024, 3), "ok");
    assert.equal(await rsaVerdict(1024, 2 ** 31 + 1), "BAD_SIGNATURE");
  });
});
