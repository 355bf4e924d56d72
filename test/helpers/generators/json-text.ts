// fast-check arbitraries for JSON written as raw text, so a generated token can carry what
// JSON.stringify never writes: numbers in exponent form or beyond float64/int64, `-0`, escapes
// of lone surrogates and control characters, duplicate keys, deep nesting, blank padding. The
// differential suite (test/authn/generated/) puts them in token headers and claims and lets
// kube-apiserver (Go's encoding/json, k8s.io/apiserver v0.37.2) decide what they mean.
import fc from "fast-check";

/** A JSON value as text; `bytes` marks text that is not valid UTF-8 once encoded (see invalidUtf8). */
export type JsonText = string;

/** Integers and floats at the edges Go's decoders care about, written as raw JSON text. */
export const boundaryNumberText: fc.Arbitrary<JsonText> = fc.constantFrom(
  "0",
  "-0",
  "1",
  "-1",
  "0.5",
  "1e0",
  "1E2",
  "1e-7",
  "1.0",
  "2147483647",
  "2147483648",
  "-2147483649",
  "4294967296",
  "9007199254740991",
  "9007199254740993",
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775808",
  "-9223372036854775809",
  "18446744073709551615",
  "18446744073709551616",
  "9.2233720368547758e18",
  "9.223372036854775e18",
  "9.2233719747e18",
  "9.22337203e18",
  "1e19",
  "-1e19",
  "1e100",
  "1e308",
  "1.7976931348623157e308",
  "1e309",
  "4.9e-324",
  "5e-324",
  "1e-400",
  "123456789012345678901234567890",
);

const numberText: fc.Arbitrary<JsonText> = fc.oneof(
  boundaryNumberText,
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc
    .tuple(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -30, max: 30 }))
    .map(([mantissa, exponent]) => `${mantissa}e${exponent}`),
);

/** Characters that matter to usernames, headers and decoders: blanks, controls, separators, astral. */
const edgeChar = fc.constantFrom(
  " ",
  "\t",
  "\n",
  "\r",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffd",
  "é",
  "ß",
  "İ",
  "K", // KELVIN SIGN
  "😀",
  ":",
  ",",
  "=",
  "/",
  "\\",
  '"',
  "#",
  "%",
  "*",
);

/** A string value as JS, with edge characters mixed into ASCII words. */
export const edgyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9.-]{0,12}$/) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,4}$/), edgeChar), { minLength: 0, maxLength: 6 })
      .map((parts) => parts.join("")),
  },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "  x", "x ", "system:admin", "system:masters", "a\u0000b") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }) },
);

/** Escape forms JSON.stringify never writes (\u escapes of ASCII, lone surrogates, \/). */
const rawStringText: fc.Arbitrary<JsonText> = fc.oneof(
  edgyString.map((s) => JSON.stringify(s)),
  fc.constantFrom('"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"\\u0041"', '"a\\/b"', '"\\u0000"', '"\\uFFFF"'),
);

/** Any JSON value as text, nesting up to `depth`. */
export function jsonText(depth = 2): fc.Arbitrary<JsonText> {
  const leaf = fc.oneof(
    { weight: 3, arbitrary: rawStringText },
    { weight: 3, arbitrary: numberText },
    { weight: 1, arbitrary: fc.constantFrom("true", "false", "null") },
  );
  if (depth <= 0) return leaf;
  const inner = jsonText(depth - 1);
  return fc.oneof(
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(inner, { maxLength: 4 }).map((items) => `[${items.join(",")}]`) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(fc.constantFrom("a", "b", "iss", "sub", "__proto__", ""), inner), { maxLength: 3 })
        .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 10, max: 200 }).map((n) => `${"[".repeat(n)}1${"]".repeat(n)}`),
    },
  );
}

/** An object's members as text, in order, duplicates allowed. */
export function objectText(members: readonly (readonly [string, JsonText])[]): string {
  return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}
