// A generated token, as data: its header and payload members in order (raw JSON text, duplicates
// allowed), each segment's encoding, and how it is signed. Cases are pure values, so fast-check
// can shrink them and print them; `renderToken` turns one into a compact JWS at send time, with
// times relative to that moment and signatures from the bed issuer's real published keys.
//
// Every field kube-apiserver looks at is covered (k8s.io/apiserver v0.37.2
// plugin/pkg/authenticator/token/oidc/oidc.go; go-oidc v2.5.0 verify.go; go-jose v2.6.3 jws.go,
// shared.go): iss, aud, sub, email, email_verified, groups, exp, nbf, iat, jti, the username and
// groups claims, _claim_names/_claim_sources, and the header's alg, kid, typ, crit, b64, jwk, x5c.
import fc from "fast-check";
import { boundaryNumberText, edgyString, type JsonText, jsonText } from "./json-text.ts";

/** How a claim's value is written; rendered against the moment and the bed at send time. */
export type ClaimValue =
  | { readonly kind: "json"; readonly text: JsonText }
  /** An issuer URL of the configuration (index), optionally altered. */
  | { readonly kind: "issuer"; readonly index: number; readonly alter: "" | "/" | "upper" | "other" }
  | { readonly kind: "audience"; readonly form: "string" | "array" | "array-with-other" | "other" | "empty-array" }
  /** Seconds from now, written in one of the JSON forms a time can take. */
  | {
      readonly kind: "time";
      readonly offset: number;
      readonly form: "int" | "float" | "exponent" | "fraction-zero" | "string";
    }
  /** A string with bytes that are not UTF-8 in the middle (Go replaces each bad byte with U+FFFD). */
  | { readonly kind: "bytes"; readonly before: string; readonly bytes: readonly number[]; readonly after: string };

export type SegmentEncoding = "base64url" | "padded" | "standard-alphabet" | "space-inside" | "tab-inside";

export interface TokenCase {
  /** The header's members as raw JSON text, in order (alg, kid and typ included). */
  readonly header: readonly (readonly [string, JsonText])[];
  readonly payload: readonly (readonly [string, ClaimValue])[];
  readonly encoding: { readonly header: SegmentEncoding; readonly payload: SegmentEncoding };
  readonly signature: {
    /** The published key that signs (a stranger of the same type for "wrong-key"). */
    readonly kid: string;
    /** The algorithm the signature is computed with (the header's alg may say otherwise). */
    readonly alg: string;
    readonly mode: "valid" | "wrong-key" | "corrupted" | "empty" | "truncated" | "unencoded-payload";
  };
}

/** What a configuration's tokens are checked against, given to the generators. */
export interface TokenProfile {
  /** How many issuers the configuration has (issuer index 0 is oidc-provider's own URL). */
  readonly issuers: number;
  /** A claim whose value is required (e.g. hd=example.com), or none. */
  readonly requiredClaim?: readonly [string, string];
}

/** The keys the bed's issuer publishes, with the algorithm each signs with. */
export const publishedKeys: readonly (readonly [string, readonly string[]])[] = [
  ["rsa-1", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]],
  ["ec-p256", ["ES256"]],
  ["ec-p384", ["ES384"]],
  ["ec-p521", ["ES512"]],
  ["ed25519", ["EdDSA"]],
];

/** Keeps `base` most of the time; shrinks towards it. */
function usually<T>(base: T, other: fc.Arbitrary<T>, weight = 3): fc.Arbitrary<T> {
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 45, arbitrary: fc.constant(base) },
    { weight, arbitrary: other },
  );
}

const json = (text: JsonText): ClaimValue => ({ kind: "json", text });
const str = (s: string): ClaimValue => json(JSON.stringify(s));

/** Time offsets kept well away from every boundary (now, exp, nbf's 1-minute leeway, the 10 s caches). */
const safeOffset = fc.constantFrom(-400 * 86400, -3600, -300, -120, 300, 3600, 50 * 365 * 86400);
const timeForm = fc.constantFrom("int", "float", "exponent", "fraction-zero", "string") as fc.Arbitrary<
  "int" | "float" | "exponent" | "fraction-zero" | "string"
>;
const timeValue = (offsets: fc.Arbitrary<number>): fc.Arbitrary<ClaimValue> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("time" as const), offset: offsets, form: timeForm }) },
    { weight: 2, arbitrary: boundaryNumberText.map(json) },
    { weight: 1, arbitrary: jsonText(1).map(json) },
  );

const identityString: fc.Arbitrary<ClaimValue> = fc.oneof(
  { weight: 4, arbitrary: edgyString.map(str) },
  { weight: 1, arbitrary: jsonText(1).map(json) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("bytes" as const),
      before: fc.constantFrom("", "a", "é"),
      bytes: fc.constantFrom(
        [0xff],
        [0xc3],
        [0xed, 0xa0, 0x80],
        [0xf0, 0x9f, 0x98],
        [0xc0, 0xaf],
        [0xe2, 0x82],
        [0x80],
      ),
      after: fc.constantFrom("", "b", "@example.com"),
    }),
  },
);

const groupsValue: fc.Arbitrary<ClaimValue> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(edgyString, { maxLength: 4 }).map((groups) => json(JSON.stringify(groups))),
  },
  { weight: 1, arbitrary: edgyString.map(str) },
  {
    weight: 1,
    arbitrary: fc.array(jsonText(1), { maxLength: 3 }).map((items) => json(`[${items.join(",")}]`)),
  },
  { weight: 1, arbitrary: jsonText(2).map(json) },
);

const claimNamesValue: fc.Arbitrary<ClaimValue> = fc.oneof(
  fc.constantFrom(
    json('{"groups":"src1"}'),
    json('{"email":"src1"}'),
    json('{"other":"src1"}'),
    json('{"groups":1}'),
    json("{}"),
    json("null"),
    json('"groups"'),
  ),
  jsonText(2).map(json),
);
const claimSourcesValue: fc.Arbitrary<ClaimValue> = fc.oneof(
  fc.constantFrom(
    json('{"src1":{"endpoint":"https://127.0.0.1:1/claims"}}'),
    json('{"src1":{"endpoint":"http://127.0.0.1:1/claims","access_token":"x"}}'),
    json('{"src1":{"JWT":"a.b.c"}}'),
    json('{"src1":{}}'),
    json('{"src1":null}'),
    json("{}"),
    json("[]"),
  ),
  jsonText(2).map(json),
);

/** Claim names a token may add beyond the standard ones. */
const extraClaimName = fc.constantFrom(
  "ISS",
  "Iss",
  "Exp",
  "x-custom",
  "nested",
  "__proto__",
  "",
  "é",
  "roles",
  "tenant",
  "org.unit",
);

const payloadArbitrary = (profile: TokenProfile) =>
  fc
    .record({
      iss: usually<ClaimValue>(
        { kind: "issuer", index: 0, alter: "" },
        fc.oneof(
          {
            weight: 3,
            arbitrary: fc
              .integer({ min: 0, max: profile.issuers - 1 })
              .map((index) => ({ kind: "issuer" as const, index, alter: "" as const })),
          },
          {
            weight: 2,
            arbitrary: fc.record({
              kind: fc.constant("issuer" as const),
              index: fc.integer({ min: 0, max: profile.issuers - 1 }),
              alter: fc.constantFrom("/" as const, "upper" as const, "other" as const),
            }),
          },
          { weight: 1, arbitrary: jsonText(1).map(json) },
        ),
        profile.issuers > 1 ? 8 : 3,
      ),
      aud: usually<ClaimValue>(
        { kind: "audience", form: "string" },
        fc.oneof(
          fc.record({
            kind: fc.constant("audience" as const),
            form: fc.constantFrom(
              "array" as const,
              "array-with-other" as const,
              "other" as const,
              "empty-array" as const,
            ),
          }),
          jsonText(1).map(json),
        ),
      ),
      sub: usually<ClaimValue>(str("user-0001"), identityString),
      email: usually<ClaimValue>(str("gen@example.com"), identityString),
      email_verified: usually<ClaimValue>(
        json("true"),
        fc.constantFrom("false", '"true"', "null", "1", '"false"').map(json),
      ),
      preferred_username: usually<ClaimValue>(str("generated"), identityString),
      groups: usually<ClaimValue>(json('["team-a","team-b"]'), groupsValue),
      required: usually<ClaimValue>(
        str(profile.requiredClaim?.[1] ?? "example.com"),
        fc.oneof(edgyString.map(str), jsonText(1).map(json)),
        1,
      ),
      iat: usually<ClaimValue>({ kind: "time", offset: 0, form: "int" }, timeValue(safeOffset), 1),
      exp: usually<ClaimValue>({ kind: "time", offset: 3600, form: "int" }, timeValue(safeOffset)),
      nbf: usually<ClaimValue | undefined>(undefined, timeValue(fc.constantFrom(-3600, -30, 30, 180, 3600)), 4),
      jti: usually<ClaimValue | undefined>(undefined, fc.oneof(edgyString.map(str), jsonText(1).map(json)), 4),
      claimNames: usually<ClaimValue | undefined>(undefined, claimNamesValue, 1),
      claimSources: usually<ClaimValue | undefined>(undefined, claimSourcesValue, 1),
      absent: usually<string[]>(
        [],
        fc.subarray(["iss", "aud", "sub", "email", "email_verified", "groups", "required", "iat", "exp"], {
          minLength: 1,
          maxLength: 1,
        }),
        1,
      ),
      extra: usually<[string, ClaimValue][]>(
        [],
        fc.array(fc.tuple(extraClaimName, jsonText(3).map(json)), { minLength: 1, maxLength: 2 }),
        4,
      ),
      duplicates: usually<[string, ClaimValue][]>(
        [],
        fc.array(
          fc.tuple(
            fc.constantFrom("iss", "aud", "sub", "email", "exp", "groups", "email_verified"),
            jsonText(1).map(json),
          ),
          { minLength: 1, maxLength: 1 },
        ),
        1,
      ),
    })
    .map((p) => {
      const requiredName = profile.requiredClaim?.[0] ?? "hd";
      const members: [string, ClaimValue][] = [
        ["iss", p.iss],
        ["aud", p.aud],
        ["sub", p.sub],
        ["email", p.email],
        ["email_verified", p.email_verified],
        ["preferred_username", p.preferred_username],
        ["groups", p.groups],
        [requiredName, p.required],
        ["iat", p.iat],
        ["exp", p.exp],
      ];
      if (p.nbf) members.push(["nbf", p.nbf]);
      if (p.jti) members.push(["jti", p.jti]);
      if (p.claimNames) members.push(["_claim_names", p.claimNames]);
      if (p.claimSources) members.push(["_claim_sources", p.claimSources]);
      const absent = new Set(p.absent.map((name) => (name === "required" ? requiredName : name)));
      return [...members.filter(([name]) => !absent.has(name)), ...p.extra, ...p.duplicates] as const;
    });

const headerArbitrary = (kid: string, alg: string) =>
  fc
    .record({
      alg: usually<JsonText>(
        JSON.stringify(alg),
        fc.oneof(
          fc.constantFrom(
            '"RS256"',
            '"ES256"',
            '"PS512"',
            '"EdDSA"',
            '"none"',
            '"HS256"',
            '"rs256"',
            '""',
            "null",
            '["RS256"]',
          ),
          jsonText(0),
        ),
        2,
      ),
      kid: usually<JsonText | undefined>(
        JSON.stringify(kid),
        fc.oneof(
          fc.constantFrom(undefined, '"rogue-rsa"', '"RSA-1"', '""', "null", "1", `${JSON.stringify(kid)}`),
          jsonText(0),
        ),
        2,
      ),
      typ: usually<JsonText | undefined>(
        '"JWT"',
        fc.oneof(fc.constantFrom(undefined, '"at+jwt"', '"jwt"', '"JOSE"', "null", "1", '""'), jsonText(0)),
        1,
      ),
      crit: usually<JsonText | undefined>(
        undefined,
        fc.constantFrom("[]", "null", '["b64"]', '["exp"]', '["x-custom"]', '"b64"', "[1]", '["b64","b64"]', "{}"),
        1,
      ),
      b64: usually<JsonText | undefined>(undefined, fc.constantFrom("true", "false", '"false"', "null", "0"), 1),
      jwk: usually<string | undefined>(undefined, fc.constantFrom("public", "private", "null", '"x"', "{}", "[]"), 1),
      x5c: usually<JsonText | undefined>(
        undefined,
        fc.constantFrom("[]", "null", '"x"', '["not-base64!"]', '["AAAA"]', '["AAA"]', "[1]", '[""]', "{}"),
        1,
      ),
      extra: usually<[string, JsonText][]>(
        [],
        fc.array(
          fc.tuple(
            fc.constantFrom("x-custom", "cty", "jku", "x5u", "zip", "epk", "alg", "kid", "ALG", ""),
            jsonText(1),
          ),
          { minLength: 1, maxLength: 1 },
        ),
        1,
      ),
      order: usually("alg-first", fc.constant("kid-first"), 4),
    })
    .map((h) => {
      const members: [string, JsonText][] = [];
      const alg: [string, JsonText] = ["alg", h.alg];
      if (h.order === "alg-first") members.push(alg);
      if (h.kid !== undefined) members.push(["kid", h.kid]);
      if (h.order === "kid-first") members.push(alg);
      if (h.typ !== undefined) members.push(["typ", h.typ]);
      if (h.crit !== undefined) members.push(["crit", h.crit]);
      if (h.b64 !== undefined) members.push(["b64", h.b64]);
      // "public"/"private" name the signing key's JWK, filled in at render time.
      if (h.jwk !== undefined)
        members.push(["jwk", h.jwk === "public" || h.jwk === "private" ? `"$jwk:${h.jwk}"` : h.jwk]);
      if (h.x5c !== undefined) members.push(["x5c", h.x5c]);
      members.push(...h.extra);
      return members;
    });

const encoding: fc.Arbitrary<SegmentEncoding> = usually<SegmentEncoding>(
  "base64url",
  fc.constantFrom("padded", "standard-alphabet", "space-inside", "tab-inside"),
  1,
);

/** Generated token cases for a configuration of `profile`. */
export function tokenCase(profile: TokenProfile): fc.Arbitrary<TokenCase> {
  const keyAndAlg = fc.integer({ min: 0, max: publishedKeys.length - 1 }).chain((i) => {
    const [kid, algs] = publishedKeys[i] as (typeof publishedKeys)[number];
    return fc.constantFrom(...algs).map((alg) => [kid, alg] as const);
  });
  return usually(["rsa-1", "RS256"] as const, keyAndAlg, 3).chain(([kid, alg]) =>
    fc.record({
      header: headerArbitrary(kid, alg),
      payload: payloadArbitrary(profile),
      encoding: fc.record({ header: encoding, payload: encoding }),
      signature: fc.record({
        kid: fc.constant(kid),
        alg: fc.constant(alg),
        mode: usually(
          "valid" as TokenCase["signature"]["mode"],
          fc.constantFrom("wrong-key", "corrupted", "empty", "truncated", "unencoded-payload") as fc.Arbitrary<
            TokenCase["signature"]["mode"]
          >,
          1,
        ),
      }),
    }),
  );
}
