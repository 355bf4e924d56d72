// Property tests of `token`'s decoder (src/token/decode.ts): any string either decodes or is
// refused with a TokenDecodeError of the documented codes; well-formed tokens decode to exactly
// the header and claims they carry, padded or not. Time claims are drawn from the range a Date
// holds (±8.64e12 s): see the hardening report for what the decoder does beyond it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeToken, TokenDecodeError } from "../../src/token/decode.ts";
import { base64url } from "../../testbed/issuer/raw-signer.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const codes = new Set(["NOT_A_JWT", "ENCRYPTED_TOKEN", "BAD_BASE64URL", "BAD_JSON", "NOT_AN_OBJECT"]);
const object = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
const timeClaims = fc.record(
  {
    iat: fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 }),
    exp: fc.double({ min: -8.64e12, max: 8.64e12, noNaN: true }),
    nbf: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800 }), fc.string(), fc.constant(null)),
  },
  { requiredKeys: [] },
);

describe("decodeToken", () => {
  it("throws only a TokenDecodeError with a documented code, whatever the string", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc
            .array(
              fc.oneof(
                fc.stringMatching(/^[A-Za-z0-9_=-]{0,16}$/),
                object.map((o) => base64url(JSON.stringify(o))),
              ),
              {
                maxLength: 6,
              },
            )
            .map((parts) => parts.join(".")),
        ),
        (raw) => {
          try {
            decodeToken(raw);
          } catch (error) {
            assert.ok(error instanceof TokenDecodeError, String(error));
            assert.ok(codes.has(error.code), error.code);
          }
        },
      ),
      propertyParameters(),
    );
  });

  it("decodes exactly the header and claims a token carries, with or without padding", () => {
    fc.assert(
      fc.property(object, object, timeClaims, fc.boolean(), (header, claims, times, pad) => {
        const all = { ...claims, ...times };
        const segment = (o: unknown) => {
          const s = base64url(JSON.stringify(o));
          return pad ? s.padEnd(Math.ceil(s.length / 4) * 4, "=") : s;
        };
        const decoded = decodeToken(`${segment(header)}.${segment(all)}.c2ln`);
        assert.deepEqual(decoded.header, JSON.parse(JSON.stringify(header)));
        assert.deepEqual(decoded.claims, JSON.parse(JSON.stringify(all)));
        assert.match(decoded.fingerprint, /^[0-9a-f]{12}$/);
        const numeric = Object.entries(times)
          .filter(([, v]) => typeof v === "number")
          .map(([k]) => k);
        assert.deepEqual(decoded.times.map((t) => t.claim).sort(), numeric.sort());
      }),
      propertyParameters(),
    );
  });

  it("tells an encrypted (five-part) token and a token of another part count apart", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).filter((n) => n !== 3),
        (parts) => {
          assert.throws(
            () => decodeToken(Array.from({ length: parts }, () => "e30").join(".")),
            (error: unknown) =>
              error instanceof TokenDecodeError && error.code === (parts === 5 ? "ENCRYPTED_TOKEN" : "NOT_A_JWT"),
          );
        },
      ),
      propertyParameters(0.1),
    );
  });
});
