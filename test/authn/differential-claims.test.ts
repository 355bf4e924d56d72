// Differential for how a token's claims are decoded: go-oidc v2.5.0's jsonTime (oidc.go: a
// json.Number, Int64 else int64(Float64), then time.Unix) for exp, iat and nbf, and Go
// encoding/json's UTF-8 handling (decode.go unquoteBytes: one U+FFFD per invalid byte, one per
// lone \u surrogate escape) for the strings that become the identity. Generated tokens, written
// as raw JSON text (times) or raw bytes (UTF-8), go to the real kube-apiserver and through the
// gateway configured with the same flags; the decisions and identities must be identical.
import assert from "node:assert/strict";
import { constants, sign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { type BedIssuers, startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { keyByKid } from "../../testbed/issuer/keys.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { base64url } from "../../testbed/issuer/raw-signer.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const flags = (issuerUrl: string) => [
  `--oidc-issuer-url=${issuerUrl}`,
  `--oidc-client-id=${clients.kubernetes.id}`,
  "--oidc-username-claim=email",
  "--oidc-groups-claim=groups",
  "--oidc-groups-prefix=oidc:",
  "--oidc-required-claim=hd=example.com",
];

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An RS256 token over exactly these payload bytes (the raw signer takes text only). */
function mintBytes(bed: TestBed, payload: Buffer): string {
  const key = keyByKid(bed.issuer.keys, "rsa-1");
  const input = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: key.kid }))}.${base64url(payload)}`;
  const signature = sign("sha256", Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING });
  return `${input}.${base64url(signature)}`;
}

/** The standard claims as JSON members, then `extra` (raw JSON members text), as one payload. */
function payloadText(bed: TestBed, members: Record<string, string>): string {
  const now = nowSeconds();
  const base: Record<string, string> = {
    iss: JSON.stringify(bed.issuer.url),
    aud: JSON.stringify(clients.kubernetes.id),
    sub: '"user-0001"',
    email: '"claims@example.com"',
    email_verified: "true",
    groups: '["team-a"]',
    hd: '"example.com"',
    iat: String(now),
    exp: String(now + 300),
    ...members,
  };
  return `{${Object.entries(base)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(",")}}`;
}

// --- times -----------------------------------------------------------------------------------

/** Boundaries where Go's conversions change: float64 precision, time.Unix's wrap, int64, uint64. */
const boundaries: bigint[] = [
  0n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n,
  // time.Unix(sec, 0) adds unixToInternal (62135596800) in int64: beyond this it wraps.
  2n ** 63n - 1n - 62135596800n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n,
  10n ** 19n,
  10n ** 20n,
];

const signedBig = fc
  .tuple(fc.constantFrom(...boundaries), fc.bigInt({ min: -5000n, max: 5000n }), fc.boolean())
  .map(([b, d, negative]) => (negative ? -(b + d) : b + d));

/** A JSON number text for an integer value, written in one of the forms JSON allows. */
const numberText = (value: bigint): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant(value.toString()),
    fc.constant(Number(value).toString()), // what a float64 prints: "9223372036854776000" or "1e+21"
    fc.integer({ min: 0, max: 20 }).map((digits) => Number(value).toExponential(digits).replace("e+", "e")),
    fc.integer({ min: 1, max: 9 }).map((digits) => `${value}.${"0".repeat(digits - 1)}${digits}`),
    fc.constant(`${value}E0`),
  );

const farTimes = signedBig.chain(numberText);

/** Times near now that are clearly valid or clearly not (no race with the clock). */
const nearTimes = fc
  .tuple(
    fc.oneof(fc.integer({ min: 120, max: 10 ** 8 }), fc.integer({ min: -(10 ** 8), max: -120 })),
    fc.constantFrom("int", "fraction", "exponent", "negative-fraction"),
  )
  .map(([offset, form]) => {
    const value = nowSeconds() + offset;
    switch (form) {
      case "int":
        return String(value);
      case "fraction":
        return `${value}.75`;
      case "exponent":
        return `${String(value).slice(0, 1)}.${String(value).slice(1)}e${String(value).length - 1}`;
      default:
        return `${value}.999999999999`;
    }
  });

const oddTimes = fc.constantFrom(
  "-0",
  "-0.0",
  "0.5",
  "1e-400",
  "-1e-400",
  "1e400",
  "-1e400",
  "1e308",
  "1.7976931348623157e308",
  "4.9e-324",
  "null",
  "true",
  '"abc"',
  '""',
  "[]",
  "{}",
);

const timeText = fc.oneof(
  { weight: 3, arbitrary: farTimes },
  { weight: 2, arbitrary: nearTimes },
  { weight: 1, arbitrary: oddTimes },
);
/** A time as a number, or as a JSON string holding the number (json.Number takes both). */
const timeValue = fc
  .tuple(timeText, fc.boolean())
  .map(([text, quoted]) => (quoted && /^-?\d/.test(text) ? JSON.stringify(text) : text));

const validExp = () => String(nowSeconds() + 300);

/** One claim set's times: which of exp, iat, nbf are generated (a missing nbf is omitted). */
const timeMembers = fc
  .record({ exp: fc.option(timeValue), iat: fc.option(timeValue), nbf: fc.option(timeValue) })
  .map(({ exp, iat, nbf }) => {
    const members: Record<string, string> = { exp: exp ?? validExp() };
    if (iat !== null) members.iat = iat;
    if (nbf !== null) members.nbf = nbf;
    return members;
  });

// --- UTF-8 -----------------------------------------------------------------------------------

/** Byte fragments for a JSON string's inside: valid text, invalid bytes, escapes. */
const fragment: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom("a", "Z", "ë", "€", "😀", "\u2028").map((s) => Buffer.from(s)),
  fc.integer({ min: 0x80, max: 0xff }).map((b) => Buffer.from([b])),
  fc
    .constantFrom(
      [0xe2, 0x82], // "€" cut short
      [0xf0, 0x9f, 0x98], // "😀" cut short
      [0xf0, 0x9f],
      [0xed, 0xa0, 0x80], // a surrogate encoded in UTF-8
      [0xed, 0xbf, 0xbf],
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf],
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xc2],
      [0xef, 0xbf, 0xbd], // U+FFFD itself
    )
    .map((bytes) => Buffer.from(bytes)),
  fc
    .constantFrom(
      "\\ud800",
      "\\udc00",
      "\\udbff\\udfff",
      "\\ud83d\\ude00",
      "\\ud800\\u0041",
      "\\ud800\\ud800\\udc00",
      "\\u00e9",
      "\\ufffd",
    )
    .map((s) => Buffer.from(s)),
);

const stringBytes = fc.array(fragment, { minLength: 1, maxLength: 8 }).map((parts) => Buffer.concat(parts));
const quoted = (inside: Buffer) => Buffer.concat([Buffer.from('"'), inside, Buffer.from('"')]);

/** Where the generated bytes go: the username (email), groups, and sometimes the required claim. */
const utf8Claims = fc.record({
  email: fc.option(stringBytes),
  groups: fc.array(stringBytes, { maxLength: 3 }),
  hd: fc.option(stringBytes, { freq: 4 }),
});

/** The payload, as bytes, with each generated string in place. */
function utf8Payload(bed: TestBed, claims: { email: Buffer | null; groups: Buffer[]; hd: Buffer | null }): Buffer {
  const strings: Buffer[] = [];
  const slot = (bytes: Buffer) => `"@${strings.push(bytes) - 1}@"`;
  const text = payloadText(bed, {
    ...(claims.email ? { email: slot(Buffer.concat([claims.email, Buffer.from("@example.com")])) } : {}),
    groups: `[${claims.groups.map(slot).join(",")}]`,
    ...(claims.hd ? { hd: slot(Buffer.concat([Buffer.from("example.com"), claims.hd])) } : {}),
  });
  const pieces = text.split(/"@(\d+)@"/);
  return Buffer.concat(
    pieces.map((piece, i) => (i % 2 ? quoted(strings[Number(piece)] ?? Buffer.alloc(0)) : Buffer.from(piece))),
  );
}

describe("differential: claims decoding (times, UTF-8)", { timeout: 600_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;

  const compare = async (token: string, what: string) => {
    const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token);
    const through = await selfSubjectReview(gateway.url, bed.ca.certPem, token);
    assert.ok([201, 401].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
    assert.deepEqual(through, oracle, `${what}\nkube-apiserver: ${JSON.stringify(oracle)}`);
    return oracle;
  };
  const withTimes = (members: Record<string, string>) => mintBytes(bed, Buffer.from(payloadText(bed, members)));

  before(async () => {
    bed = await startTestBed({
      oidcFlags: ({ oidcProvider, caFile }: BedIssuers & { caFile: string }) => [
        ...flags(oidcProvider.url),
        `--oidc-ca-file=${caFile}`,
      ],
    });
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), flags(bed.issuer.url));
    await gatewayReady(gateway);
    await waitFor(
      "kube-apiserver's OIDC authenticator",
      async () => (await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, withTimes({}))).status === 201,
      { timeoutMs: 30_000 },
    );
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  // Regression cases, each named after what broke.
  const timeCases: [string, Record<string, string>, 201 | 401][] = [
    ["exp just past time.Unix's int64 wrap is expired", { exp: "9223371974719179008" }, 401],
    ["exp just inside time.Unix's int64 wrap is far future", { exp: "9223371974719179007" }, 201],
    ["exp 2^63-1 exactly (json.Number Int64) wraps in time.Unix: expired", { exp: "9223372036854775807" }, 401],
    ["exp 9.2233719747e18 as a float is far future", { exp: "9.2233719747e18" }, 201],
    ["exp 9.2233719748e18 as a float wraps: expired", { exp: "9.2233719748e18" }, 401],
    ["exp 2^63 converts to the minimum int64: expired", { exp: "9223372036854775808" }, 401],
    ["exp 2^64 converts to the minimum int64: expired", { exp: "18446744073709551616" }, 401],
    ["exp 2^53+1 exactly is far future", { exp: "9007199254740993" }, 201],
    ["exp as an exponent form", { exp: "1e10" }, 201],
    ["exp as a string holding an exponent form", { exp: '"1e10"' }, 201],
    ["exp -0", { exp: "-0" }, 401],
    ["exp 1e400 does not decode", { exp: "1e400" }, 401],
    ["exp null does not decode", { exp: "null" }, 401],
    ["iat null does not decode", { iat: "null" }, 401],
    ["iat past the wrap is not checked", { iat: "9223372036854775807" }, 201],
    ["iat 1e400 does not decode", { iat: "1e400" }, 401],
    ["nbf 2^63-1 exactly wraps in time.Unix: past", { nbf: "9223372036854775807" }, 201],
    ["nbf just inside time.Unix's wrap is in the future", { nbf: "9223371974719179007" }, 401],
    ["nbf 2^63 converts to the minimum int64: past", { nbf: "9223372036854775808" }, 201],
    ["nbf as a string past the wrap", { nbf: '"9223372036854775807"' }, 201],
  ];
  for (const [name, members, expected] of timeCases) {
    it(name, async () => {
      const oracle = await compare(withTimes(members), JSON.stringify(members));
      assert.equal(oracle.status, expected, "kube-apiserver's answer changed");
    });
  }

  // encoding/json fills a struct field from each case-folded key in document order, the last
  // winning; JSON.parse keeps a duplicated key at its first position with its last value.
  const duplicateCases: [string, (now: number) => string, 201 | 401][] = [
    [
      "exp, then an expired EXP, then exp again: the last exp wins",
      (now) => `"exp":${now + 300},"EXP":${now - 300},"exp":${now + 300}`,
      201,
    ],
    [
      "EXP expired, then exp, then EXP valid: the last EXP wins",
      (now) => `"EXP":${now - 300},"exp":${now - 300},"EXP":${now + 300}`,
      201,
    ],
    [
      "exp valid, then Exp expired, then exp valid again",
      (now) => `"exp":${now + 300},"Exp":${now - 300},"exp":${now + 600}`,
      201,
    ],
    [
      "nbf far ahead, then NBF past, then nbf far ahead",
      (now) => `"nbf":${now + 3000},"NBF":${now - 300},"nbf":${now + 3000}`,
      401,
    ],
  ];
  for (const [name, members, expected] of duplicateCases) {
    it(name, async () => {
      const text = payloadText(bed, { exp: "0" }).replace('"exp":0', members(nowSeconds()));
      const oracle = await compare(mintBytes(bed, Buffer.from(text)), text);
      assert.equal(oracle.status, expected, "kube-apiserver's answer changed");
    });
  }

  const utf8Cases: [string, Buffer][] = [
    ["a truncated 3-byte sequence in the username is one U+FFFD per byte", Buffer.from([0xe2, 0x82, 0x41])],
    ["a truncated 4-byte sequence in the username", Buffer.from([0xf0, 0x9f, 0x98])],
    ["a lone surrogate escape in the username", Buffer.from("a\\ud800b")],
    ["a surrogate escape followed by another escape", Buffer.from("\\ud800\\u0041")],
  ];
  for (const [name, bytes] of utf8Cases) {
    it(name, async () => {
      const text = payloadText(bed, { email: '"\u0000"' });
      const [head, tail] = text.split('"\u0000"');
      const payload = Buffer.concat([
        Buffer.from(head ?? ""),
        quoted(Buffer.concat([bytes, Buffer.from("@example.com")])),
        Buffer.from(tail ?? ""),
      ]);
      const oracle = await compare(mintBytes(bed, payload), payload.toString("hex"));
      assert.equal(oracle.status, 201);
    });
  }

  it("generated times agree", async () => {
    await fc.assert(
      fc.asyncProperty(timeMembers, async (members) => {
        await compare(withTimes(members), JSON.stringify(members));
      }),
      propertyParameters(0.3),
    );
  });

  it("generated invalid UTF-8 in identity claims agrees", async () => {
    await fc.assert(
      fc.asyncProperty(utf8Claims, async (claims) => {
        const payload = utf8Payload(bed, claims);
        await compare(mintBytes(bed, payload), payload.toString("hex"));
      }),
      propertyParameters(0.3),
    );
  });
});
