// Differential: the JWS compact serialization and its protected header as kube-apiserver reads
// them — k8s.io/apiserver@v0.37.2 oidc.go untrustedIssuer, then go-oidc v2.5.0 verify.go and
// jwks.go, then go-jose v2.6.3 jws.go ParseSigned/parseSignedCompact, shared.go
// rawHeader.sanitized and signing.go DetachedVerify/computeAuthData — against the gateway
// configured identically. Every token goes to both (a SelfSubjectReview, directly and through
// the gateway); both must refuse it, or both accept it as the same user.
//
// The named cases are regressions (each named after what broke); the generated ones draw
// protected headers with every registered field in every JSON type, crit/b64 combinations,
// kid/jwk/x5c shapes, payloads signed encoded or unencoded, and segment encodings with padding,
// white space, standard-alphabet characters and non-canonical trailing bits.
import assert from "node:assert/strict";
import { constants as cryptoConstants, sign, X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { prepareGatewayCredentials, type RunningGateway, startTestGateway } from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { keyByKid } from "../../testbed/issuer/keys.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { type Decision, selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const flags = (issuer: string) => [
  `--oidc-issuer-url=${issuer}`,
  `--oidc-client-id=${clients.kubernetes.id}`,
  "--oidc-username-claim=sub",
  "--oidc-username-prefix=-",
  "--oidc-signing-algs=RS256,ES256",
];

type Signer = "RS256" | "ES256";
const kidOf: Record<Signer, string> = { RS256: "rsa-1", ES256: "ec-p256" };

/** How one segment is written into the compact form. */
type SegmentEncoding =
  | { kind: "canonical" }
  | { kind: "padded" }
  | { kind: "whitespace"; at: number; char: string }
  | { kind: "standard-alphabet" }
  | { kind: "trailing-bits" };

interface Jws {
  /** The protected header's JSON text (or bytes), exactly as encoded. */
  readonly header: string | Buffer;
  /** The claims' JSON text; undefined for the bed's ordinary claims. */
  readonly payload?: string;
  readonly signer: Signer;
  /** Sign over the raw payload bytes (RFC 7797 b64=false) instead of its base64url form. */
  readonly unencoded?: boolean;
  readonly encodings?: readonly [SegmentEncoding, SegmentEncoding, SegmentEncoding];
  /** Changes the signature's bytes after signing. */
  readonly signatureTransform?: (signature: Buffer) => Buffer;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function encodeSegment(bytes: Buffer, encoding: SegmentEncoding): string {
  const canonical = bytes.toString("base64url");
  switch (encoding.kind) {
    case "canonical":
      return canonical;
    case "padded":
      return bytes.toString("base64").replaceAll("+", "-").replaceAll("/", "_");
    case "whitespace": {
      const at = encoding.at % (canonical.length + 1);
      return `${canonical.slice(0, at)}${encoding.char}${canonical.slice(at)}`;
    }
    case "standard-alphabet":
      return canonical.replaceAll("-", "+").replaceAll("_", "/");
    case "trailing-bits": {
      // The unused low bits of the last character set: the same bytes to a lenient decoder.
      const unused = canonical.length % 4 === 2 ? 4 : canonical.length % 4 === 3 ? 2 : 0;
      if (unused === 0) return canonical;
      const last = alphabet.indexOf(canonical.at(-1) ?? "A");
      return canonical.slice(0, -1) + alphabet[last | ((1 << unused) - 1)];
    }
  }
}

function claimsText(bed: TestBed): string {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({ iss: bed.issuer.url, aud: clients.kubernetes.id, sub: "jws-user", iat: now, exp: now + 600 });
}

function signatureOf(bed: TestBed, jws: Jws): Buffer {
  const header = Buffer.from(jws.header);
  const payload = Buffer.from(jws.payload ?? claimsText(bed));
  const input = Buffer.concat([
    Buffer.from(`${header.toString("base64url")}.`),
    jws.unencoded ? payload : Buffer.from(payload.toString("base64url")),
  ]);
  const key = keyByKid(bed.issuer.keys, kidOf[jws.signer]).privateKey;
  return jws.signer === "RS256"
    ? sign("sha256", input, { key, padding: cryptoConstants.RSA_PKCS1_PADDING })
    : sign("sha256", input, { key, dsaEncoding: "ieee-p1363" });
}

function compact(bed: TestBed, jws: Jws): string {
  const header = Buffer.from(jws.header);
  const payload = Buffer.from(jws.payload ?? claimsText(bed));
  const signed = signatureOf(bed, jws);
  const signature = jws.signatureTransform ? jws.signatureTransform(signed) : signed;
  const [h, p, s] = jws.encodings ?? [{ kind: "canonical" }, { kind: "canonical" }, { kind: "canonical" }];
  return `${encodeSegment(header, h)}.${encodeSegment(payload, p)}.${encodeSegment(signature, s)}`;
}

const headerOf = (signer: Signer, fields: Record<string, unknown> = {}) =>
  JSON.stringify({ alg: signer, kid: kidOf[signer], ...fields });

const canonical: SegmentEncoding = { kind: "canonical" };

/** A certificate's DER in standard base64, with and without its `=` padding. */
interface Certificates {
  readonly padded: string;
  readonly unpadded: string;
  readonly unpaddable: string;
}

let certificates: Certificates = { padded: "", unpadded: "", unpaddable: "" };

async function certificatesOf(bed: TestBed): Promise<Certificates> {
  const ders: Buffer[] = [new X509Certificate(bed.ca.certPem).raw];
  for (let i = 0; ders.filter((d) => d.length % 3 !== 0).length === 0 || ders.every((d) => d.length % 3 !== 0); i++) {
    const leaf = await bed.ca.issue({ commonName: `x5c-${i}`, usage: "client" });
    ders.push(new X509Certificate(leaf.certPem).raw);
    if (i > 20) break;
  }
  const withPadding = ders.find((d) => d.length % 3 !== 0) ?? ders[0];
  const without = ders.find((d) => d.length % 3 === 0) ?? ders[0];
  return {
    padded: withPadding?.toString("base64") ?? "",
    unpadded: withPadding?.toString("base64").replace(/=+$/, "") ?? "",
    unpaddable: without?.toString("base64") ?? "",
  };
}

const cases: [string, (bed: TestBed) => Jws][] = [
  ["plain RS256", () => ({ header: headerOf("RS256"), signer: "RS256" })],
  ["plain ES256", () => ({ header: headerOf("ES256"), signer: "ES256" })],
  // b64 and crit (go-jose v2.6.3 signing.go DetachedVerify, jws.go computeAuthData)
  [
    "b64 false without crit, signed over the unencoded payload",
    () => ({ header: headerOf("RS256", { b64: false }), signer: "RS256", unencoded: true }),
  ],
  [
    "b64 false without crit, signed over the encoded payload",
    () => ({ header: headerOf("RS256", { b64: false }), signer: "RS256" }),
  ],
  [
    "b64 false with crit b64, signed over the unencoded payload",
    () => ({ header: headerOf("RS256", { b64: false, crit: ["b64"] }), signer: "RS256", unencoded: true }),
  ],
  [
    "b64 false with crit b64, signed over the encoded payload",
    () => ({ header: headerOf("RS256", { b64: false, crit: ["b64"] }), signer: "RS256" }),
  ],
  ["b64 true with crit b64", () => ({ header: headerOf("RS256", { b64: true, crit: ["b64"] }), signer: "RS256" })],
  ["b64 as the string false", () => ({ header: headerOf("RS256", { b64: "false" }), signer: "RS256" })],
  [
    "b64 as the string false, unencoded",
    () => ({ header: headerOf("RS256", { b64: "false" }), signer: "RS256", unencoded: true }),
  ],
  ["b64 null", () => ({ header: headerOf("RS256", { b64: null }), signer: "RS256" })],
  ["crit empty", () => ({ header: headerOf("RS256", { crit: [] }), signer: "RS256" })],
  ["crit null", () => ({ header: headerOf("RS256", { crit: null }), signer: "RS256" })],
  ["crit names b64 while b64 is absent", () => ({ header: headerOf("RS256", { crit: ["b64"] }), signer: "RS256" })],
  ["crit as the string b64", () => ({ header: headerOf("RS256", { crit: "b64" }), signer: "RS256" })],
  [
    "crit with b64 and an unknown name",
    () => ({ header: headerOf("RS256", { crit: ["b64", "x"], x: 1 }), signer: "RS256" }),
  ],
  ["crit with null", () => ({ header: headerOf("RS256", { crit: [null] }), signer: "RS256" })],
  ["crit names b64 twice", () => ({ header: headerOf("RS256", { crit: ["b64", "b64"] }), signer: "RS256" })],
  ["crit an object", () => ({ header: headerOf("RS256", { crit: {} }), signer: "RS256" })],
  // jwk (jws.go sanitized: only a valid public key may be embedded)
  [
    "jwk holding a private key",
    (bed) => ({ header: headerOf("RS256", { jwk: keyByKid(bed.issuer.keys, "rsa-1").privateJwk }), signer: "RS256" }),
  ],
  [
    "jwk holding the public key",
    (bed) => ({ header: headerOf("RS256", { jwk: keyByKid(bed.issuer.keys, "rsa-1").publicJwk }), signer: "RS256" }),
  ],
  [
    "jwk holding an EC private key",
    (bed) => ({ header: headerOf("ES256", { jwk: keyByKid(bed.issuer.keys, "ec-p256").privateJwk }), signer: "ES256" }),
  ],
  [
    "jwk holding an Ed25519 public key",
    (bed) => ({ header: headerOf("RS256", { jwk: keyByKid(bed.issuer.keys, "ed25519").publicJwk }), signer: "RS256" }),
  ],
  [
    "jwk holding an Ed25519 private key",
    (bed) => ({ header: headerOf("RS256", { jwk: keyByKid(bed.issuer.keys, "ed25519").privateJwk }), signer: "RS256" }),
  ],
  ["jwk symmetric", () => ({ header: headerOf("RS256", { jwk: { kty: "oct", k: "c2VjcmV0" } }), signer: "RS256" })],
  ["jwk null", () => ({ header: headerOf("RS256", { jwk: null }), signer: "RS256" })],
  ["jwk empty object", () => ({ header: headerOf("RS256", { jwk: {} }), signer: "RS256" })],
  // x5c (shared.go sanitized, parseCertificateChain: standard base64 with padding, DER)
  ["x5c empty", () => ({ header: headerOf("RS256", { x5c: [] }), signer: "RS256" })],
  ["x5c null", () => ({ header: headerOf("RS256", { x5c: null }), signer: "RS256" })],
  [
    "x5c with a padded certificate",
    () => ({ header: headerOf("RS256", { x5c: [certificates.padded] }), signer: "RS256" }),
  ],
  [
    "x5c with a certificate without its padding",
    () => ({ header: headerOf("RS256", { x5c: [certificates.unpadded] }), signer: "RS256" }),
  ],
  [
    "x5c with a certificate broken by newlines",
    () => ({
      header: headerOf("RS256", { x5c: [certificates.unpaddable.replace(/(.{64})/g, "$1\n")] }),
      signer: "RS256",
    }),
  ],
  [
    "x5c with a certificate in base64url",
    () => ({
      header: headerOf("RS256", { x5c: [certificates.unpaddable.replaceAll("+", "-").replaceAll("/", "_")] }),
      signer: "RS256",
    }),
  ],
  ["x5c with an empty string", () => ({ header: headerOf("RS256", { x5c: [""] }), signer: "RS256" })],
  ["x5c with null", () => ({ header: headerOf("RS256", { x5c: [null] }), signer: "RS256" })],
  ["x5c a string", () => ({ header: headerOf("RS256", { x5c: certificates.padded }), signer: "RS256" })],
  // the typed fields
  ["kid a number", () => ({ header: headerOf("RS256", { kid: 1 }), signer: "RS256" })],
  ["kid null", () => ({ header: headerOf("RS256", { kid: null }), signer: "RS256" })],
  ["kid empty", () => ({ header: headerOf("RS256", { kid: "" }), signer: "RS256" })],
  ["kid differently cased key", () => ({ header: JSON.stringify({ alg: "RS256", KID: "nope" }), signer: "RS256" })],
  ["nonce a number", () => ({ header: headerOf("RS256", { nonce: 1 }), signer: "RS256" })],
  ["alg null", () => ({ header: headerOf("RS256", { alg: null }), signer: "RS256" })],
  ["header null", () => ({ header: "null", signer: "RS256" })],
  ["header an array", () => ({ header: "[]", signer: "RS256" })],
  ["header empty", () => ({ header: "", signer: "RS256" })],
  [
    "header with a duplicate kid (the JSON fork refuses it)",
    () => ({ header: '{"alg":"RS256","kid":"nope","kid":"rsa-1"}', signer: "RS256" }),
  ],
  [
    "header with a duplicate alg (the JSON fork refuses it)",
    () => ({ header: '{"alg":"HS256","alg":"RS256"}', signer: "RS256" }),
  ],
  [
    "header with a number beyond float64",
    () => ({ header: '{"alg":"RS256","kid":"rsa-1","x":1e400}', signer: "RS256" }),
  ],
  ["header with a tiny number", () => ({ header: '{"alg":"RS256","kid":"rsa-1","x":1e-400}', signer: "RS256" })],
  [
    "header with a duplicate key nested in an unknown field",
    () => ({ header: '{"alg":"RS256","kid":"rsa-1","x":[{"a":1,"a":2}]}', signer: "RS256" }),
  ],
  [
    "header with escaped duplicate names",
    () => ({ header: '{"alg":"RS256","kid":"rsa-1","x":{"a":1,"\\u0061":2}}', signer: "RS256" }),
  ],
  [
    "header with differently cased names",
    () => ({ header: '{"alg":"RS256","kid":"rsa-1","Kid":"x","ALG":1}', signer: "RS256" }),
  ],
  [
    "jwk public key with a private member in upper case",
    (bed) => {
      const { d, ...rest } = keyByKid(bed.issuer.keys, "rsa-1").privateJwk as Record<string, unknown>;
      return { header: headerOf("RS256", { jwk: { ...rest, D: d } }), signer: "RS256" };
    },
  ],
  [
    "jwk public key with an x5t of the wrong size",
    (bed) => ({
      header: headerOf("RS256", { jwk: { ...keyByKid(bed.issuer.keys, "rsa-1").publicJwk, x5t: "AAAA" } }),
      signer: "RS256",
    }),
  ],
  [
    "jwk public key with an x5u string",
    (bed) => ({
      header: headerOf("RS256", {
        jwk: { ...keyByKid(bed.issuer.keys, "rsa-1").publicJwk, x5u: "https://example.com" },
      }),
      signer: "RS256",
    }),
  ],
  [
    "jwk public key with a certificate of another key",
    (bed) => ({
      header: headerOf("RS256", {
        jwk: { ...keyByKid(bed.issuer.keys, "rsa-1").publicJwk, x5c: [certificates.padded] },
      }),
      signer: "RS256",
    }),
  ],
  [
    "header with invalid UTF-8 in an unknown field",
    () => ({
      header: Buffer.concat([Buffer.from('{"alg":"RS256","x":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]),
      signer: "RS256",
    }),
  ],
  [
    "header nested past Go's depth limit",
    () => ({ header: `{"alg":"RS256","x":${"[".repeat(10001)}${"]".repeat(10001)}}`, signer: "RS256" }),
  ],
  ["header with trailing data", () => ({ header: `${headerOf("RS256")} x`, signer: "RS256" })],
  ["header with surrounding white space", () => ({ header: ` ${headerOf("RS256")}\n`, signer: "RS256" })],
  ["header with a byte order mark", () => ({ header: `\ufeff${headerOf("RS256")}`, signer: "RS256" })],
  [
    "RS256 signature with its leading zero byte dropped",
    (bed) => {
      // About one signature in 256 starts with a zero byte; go-jose wants the modulus' size.
      for (let i = 0; ; i++) {
        const payload = claimsText(bed).replace("{", `{"jti":"${i}",`);
        const jws: Jws = { header: headerOf("RS256"), signer: "RS256", payload };
        if (signatureOf(bed, jws)[0] === 0) return { ...jws, signatureTransform: (s) => s.subarray(1) };
      }
    },
  ],
  [
    "RS256 signature with a zero byte prepended",
    () => ({
      header: headerOf("RS256"),
      signer: "RS256",
      signatureTransform: (s) => Buffer.concat([Buffer.alloc(1), s]),
    }),
  ],
  [
    "ES256 signature in DER",
    (bed) => ({
      header: headerOf("ES256"),
      signer: "ES256",
      signatureTransform: () => {
        const key = keyByKid(bed.issuer.keys, "ec-p256").privateKey;
        const input = `${Buffer.from(headerOf("ES256")).toString("base64url")}.${Buffer.from(claimsText(bed)).toString("base64url")}`;
        return sign("sha256", Buffer.from(input), key);
      },
    }),
  ],
  [
    "ES256 signature with a zero byte appended",
    () => ({
      header: headerOf("ES256"),
      signer: "ES256",
      signatureTransform: (s) => Buffer.concat([s, Buffer.alloc(1)]),
    }),
  ],
  [
    "empty signature",
    () => ({ header: headerOf("RS256"), signer: "RS256", signatureTransform: () => Buffer.alloc(0) }),
  ],
  ...(["header", "signature"] as const).flatMap((segment, i): [string, (bed: TestBed) => Jws][] =>
    [
      ["a UTF-8 no-break space", "\u00c2\u00a0"],
      ["a lone 0xA0 byte", "\u00a0"],
      ["a UTF-8 ideographic space", "\u00e3\u0080\u0080"],
      ["a UTF-8 next-line character", "\u00c2\u0085"],
    ].map(([what, char]): [string, (bed: TestBed) => Jws] => [
      `${what} inside the ${segment} segment`,
      () => {
        const encodings: [SegmentEncoding, SegmentEncoding, SegmentEncoding] = [canonical, canonical, canonical];
        encodings[i === 0 ? 0 : 2] = { kind: "whitespace", at: 7, char: char ?? "" };
        return { header: headerOf("RS256"), signer: "RS256", encodings };
      },
    ]),
  ),
  // segment encodings (oidc.go untrustedIssuer on the token as sent; go-jose strips white space
  // first, decodes with RawURLEncoding and signs over its own re-encoding)
  ...(["padded", "standard-alphabet", "trailing-bits"] as const).flatMap((kind) =>
    (["header", "payload", "signature"] as const).map((segment, index): [string, (bed: TestBed) => Jws] => [
      `${kind} ${segment} segment`,
      () => {
        const encodings: [SegmentEncoding, SegmentEncoding, SegmentEncoding] = [canonical, canonical, canonical];
        encodings[index] = { kind };
        // A header of 19 bytes leaves a partial last quantum, so padding and spare bits show.
        return { header: headerOf("RS256", { x: "aaa" }), signer: "RS256", encodings };
      },
    ]),
  ),
  ...(["header", "payload", "signature"] as const).map((segment, index): [string, (bed: TestBed) => Jws] => [
    `tab inside the ${segment} segment`,
    () => {
      const encodings: [SegmentEncoding, SegmentEncoding, SegmentEncoding] = [canonical, canonical, canonical];
      encodings[index] = { kind: "whitespace", at: 5, char: "\t" };
      return { header: headerOf("RS256"), signer: "RS256", encodings };
    },
  ]),
];

cases.push(
  [
    "a later iss null leaves the issuer",
    (bed) => ({ header: headerOf("RS256"), signer: "RS256", payload: `${claimsText(bed).slice(0, -1)},"iss":null}` }),
  ],
  [
    "a later ISS null leaves the issuer",
    (bed) => ({ header: headerOf("RS256"), signer: "RS256", payload: `${claimsText(bed).slice(0, -1)},"ISS":null}` }),
  ],
);

// Generated headers: every registered field in every JSON type, and the shapes that matter.
const jsonValue = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxKeys: 2 }),
);

const fieldValue = (bed: TestBed, signer: Signer): Record<string, fc.Arbitrary<unknown>> => ({
  kid: fc.oneof(jsonValue, fc.constantFrom(kidOf[signer], "", "rsa-1", "ec-p256", "unknown")),
  alg: fc.oneof(jsonValue, fc.constantFrom(signer, "RS256", "ES256", "none", "HS256", "PS256")),
  crit: fc.oneof(
    jsonValue,
    fc.subarray(["b64", "b64", "exp", "x-custom", ""]),
    fc.constantFrom(["b64"], [], null, "b64"),
  ),
  b64: fc.oneof(jsonValue, fc.constantFrom(true, false, "false", 0)),
  jwk: fc.oneof(
    jsonValue,
    fc.constantFrom(
      keyByKid(bed.issuer.keys, "rsa-1").publicJwk,
      keyByKid(bed.issuer.keys, "rsa-1").privateJwk,
      keyByKid(bed.issuer.keys, "ec-p256").publicJwk,
      keyByKid(bed.issuer.keys, "ec-p256").privateJwk,
      { kty: "oct", k: "c2VjcmV0" },
      { kty: "RSA" },
    ),
  ),
  x5c: fc.oneof(
    jsonValue,
    fc.subarray([certificates.padded, certificates.unpadded, certificates.unpaddable, "", "AAAA"]),
  ),
  nonce: jsonValue,
  typ: jsonValue,
  cty: jsonValue,
  zip: jsonValue,
  enc: jsonValue,
  "x-custom": jsonValue,
});

const segmentEncoding: fc.Arbitrary<SegmentEncoding> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<SegmentEncoding>({ kind: "canonical" }) },
  fc.constant<SegmentEncoding>({ kind: "padded" }),
  fc.constant<SegmentEncoding>({ kind: "standard-alphabet" }),
  fc.constant<SegmentEncoding>({ kind: "trailing-bits" }),
  fc.record({
    kind: fc.constant("whitespace" as const),
    at: fc.nat(400),
    char: fc.constantFrom("\t", " ", "\u00a0", "\u00c2\u00a0"),
  }),
);

function generatedJws(bed: TestBed): fc.Arbitrary<Jws> {
  return fc.constantFrom<Signer>("RS256", "ES256").chain((signer) => {
    const values = fieldValue(bed, signer);
    // A few fields at a time, so that most tokens stay valid but for the field under test.
    const fields = fc
      .uniqueArray(fc.constantFrom(...Object.keys(values)), { maxLength: 3 })
      .chain((names) => fc.tuple(...names.map((name) => values[name] ?? jsonValue)).map((drawn) => ({ names, drawn })))
      .map(({ names, drawn }) => Object.fromEntries(names.map((name, i) => [name, drawn[i]])));
    return fc.record({
      header: fields.map((chosen) => JSON.stringify({ alg: signer, kid: kidOf[signer], ...chosen })),
      signer: fc.constant(signer),
      unencoded: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)),
      encodings: fc.tuple(segmentEncoding, segmentEncoding, segmentEncoding),
    });
  });
}

describe("differential: JWS compact serialization and headers", { timeout: 600_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  const decide = async (token: string): Promise<[Decision, Decision]> => [
    await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token),
    await selfSubjectReview(gateway.url, bed.ca.certPem, token),
  ];

  before(async () => {
    bed = await startTestBed({
      oidcFlags: ({ oidcProvider, caFile }) => [...flags(oidcProvider.url), `--oidc-ca-file=${caFile}`],
    });
    certificates = await certificatesOf(bed);
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), flags(bed.issuer.url));
    await waitFor("the gateway's readiness", async () => (await fetch(`${gateway.healthUrl}/readyz`)).status === 200, {
      timeoutMs: 30_000,
    });
    const plain = compact(bed, { header: headerOf("RS256"), signer: "RS256" });
    await waitFor(
      "kube-apiserver's OIDC authenticator",
      async () => (await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, plain)).status === 201,
      { timeoutMs: 30_000 },
    );
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  for (const [name, make] of cases) {
    it(name, async () => {
      const token = compact(bed, make(bed));
      const [oracle, through] = await decide(token);
      assert.ok([201, 401].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
      assert.deepEqual(through, oracle, `token ${JSON.stringify(token)}`);
    });
  }

  it("generated headers, payload signings and segment encodings", async (t) => {
    let accepted = 0;
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(generatedJws(bed), async (jws) => {
        const token = compact(bed, jws);
        const [oracle, through] = await decide(token);
        tried++;
        if (oracle.status === 201) accepted++;
        assert.ok([201, 401].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
        assert.deepEqual(through, oracle, `token ${JSON.stringify(token)}`);
      }),
      propertyParameters(0.4),
    );
    t.diagnostic(`kube-apiserver accepted ${accepted} of ${tried} generated tokens`);
  });
});
