// Differential for key sets: JWKS shapes served by scripted issuers to the real kube-apiserver
// (go-oidc v2.5.0 remoteKeySet reading them through go-jose v2.6.3) and to the gateway, with
// tokens signed by a key of the set. Every case has an issuer of its own, so both read its key
// set fresh on its first token (kube-apiserver fetches a JWKS only when a token needs it; the
// gateway refetches on an unknown kid long after its start-up fetch).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
  writeAuthenticationConfig,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { type JwtAlgorithm, mintJwt } from "../../testbed/issuer/raw-signer.ts";
import {
  type ScriptedIssuers,
  type ScriptedJwks,
  type ScriptedKey,
  scriptedKey,
  selfSignedX5c,
  startScriptedIssuers,
} from "../../testbed/issuer/scripted-jwks.ts";
import { type Decision, selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { propertyParameters, propertySeed } from "../helpers/property-seed.ts";

const audience = "jwks-differential";

/** A token to send: signed by `key` with `alg`, header fields overridden by `header`. */
interface TokenSpec {
  readonly label: string;
  readonly key: ScriptedKey;
  readonly alg: JwtAlgorithm;
  readonly header?: Record<string, unknown>;
}

interface JwksCase {
  readonly name: string;
  /** kube-apiserver's decisions, as observed (201 accepted, 401 refused), one per token. */
  readonly expected?: readonly (201 | 401)[];
  readonly build: () => Promise<Built> | Built;
}

interface Built {
  readonly jwks: ScriptedJwks;
  readonly tokens: TokenSpec[];
  /** A rotation after the first tokens: the issuer serves `jwks`, `waitMs` pass, `tokens` are sent. */
  readonly rotate?: {
    readonly jwks: ScriptedJwks;
    readonly waitMs: number;
    readonly tokens: TokenSpec[];
    readonly expected: readonly (201 | 401)[];
    /** Where the gateway deliberately decides otherwise (a documented deviation). */
    readonly gatewayExpected?: readonly (201 | 401)[];
  };
}

const rsa = (kid: string, bits?: number) => scriptedKey(kid, { kind: "rsa", bits });
const ec = (kid: string, curve: "P-256" | "P-384" | "P-521" = "P-256") => scriptedKey(kid, { kind: "ec", curve });
const set = (...keys: unknown[]): ScriptedJwks => ({ body: { keys } });
const one = (key: ScriptedKey, alg: JwtAlgorithm = "RS256", header?: Record<string, unknown>): TokenSpec => ({
  label: `${alg} kid=${JSON.stringify(header && "kid" in header ? header.kid : key.kid)}`,
  key,
  alg,
  header,
});

export const fixedCases: JwksCase[] = [
  {
    name: "baseline: one RSA key, token with its kid",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set(k.publicJwk), tokens: [one(k)] };
    },
  },
  {
    name: "a private RSA JWK (d, p, q...) is read but cannot verify",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set(k.privateJwk), tokens: [one(k)] };
    },
  },
  {
    name: "a private EC JWK is read but cannot verify",
    expected: [401],
    build: () => {
      const k = ec("a");
      return { jwks: set(k.privateJwk), tokens: [one(k, "ES256")] };
    },
  },
  {
    name: "a private JWK next to the public one: the public one verifies",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set(k.privateJwk, k.publicJwk), tokens: [one(k)] };
    },
  },
  {
    name: "an unknown kty (AKP) makes the whole set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set(k.publicJwk, { kty: "AKP", alg: "ML-DSA-44", pub: "AAAA", kid: "pq" }), tokens: [one(k)] };
    },
  },
  {
    name: "an OKP key of an unknown curve (X25519) makes the whole set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return {
        jwks: set(k.publicJwk, { kty: "OKP", crv: "X25519", x: Buffer.alloc(32, 9).toString("base64url") }),
        tokens: [one(k)],
      };
    },
  },
  {
    name: "an Ed25519 key is read (and never verifies a kube-apiserver algorithm)",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set(scriptedKey("ed", { kind: "ed25519" }).publicJwk, k.publicJwk), tokens: [one(k)] };
    },
  },
  {
    name: "an oct key is read",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ kty: "oct", k: Buffer.alloc(32, 1).toString("base64url") }, k.publicJwk), tokens: [one(k)] };
    },
  },
  {
    name: "use: enc is not skipped",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, use: "enc" }), tokens: [one(k)] };
    },
  },
  {
    name: "use: an unknown value is not skipped",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, use: "whatever" }), tokens: [one(k)] };
    },
  },
  {
    name: "a 1024-bit RSA key",
    expected: [201],
    build: () => {
      const k = rsa("a", 1024);
      return { jwks: set(k.publicJwk), tokens: [one(k)] };
    },
  },
  {
    name: "a 512-bit RSA key",
    expected: [401],
    build: () => {
      const k = rsa("a", 512);
      return { jwks: set(k.publicJwk), tokens: [one(k)] };
    },
  },
  {
    name: "the JWK's alg is not compared with the token's",
    expected: [201],
    build: () => {
      const k = ec("a");
      return { jwks: set({ ...k.publicJwk, alg: "RS256" }), tokens: [one(k, "ES256")] };
    },
  },
  {
    name: "duplicate kids: every key of the kid is tried",
    expected: [201, 201],
    build: () => {
      const first = rsa("same");
      const second = rsa("same");
      return { jwks: set(first.publicJwk, second.publicJwk), tokens: [one(first), one(second)] };
    },
  },
  {
    name: "a token without kid tries every key",
    expected: [201, 201],
    build: () => {
      const r = rsa("a");
      const e = ec("b", "P-384");
      return {
        jwks: set(r.publicJwk, e.publicJwk),
        tokens: [one(r, "RS256", { kid: undefined }), one(e, "ES384", { kid: undefined })],
      };
    },
  },
  {
    name: "a token with kid does not try a key without one",
    expected: [401],
    build: () => {
      const k = rsa("a");
      const { kid: _, ...jwk } = k.publicJwk;
      return { jwks: set(jwk), tokens: [one(k)] };
    },
  },
  {
    name: "x5c holding the key's own certificate",
    expected: [201],
    build: async () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, x5c: [await selfSignedX5c(k)] }), tokens: [one(k)] };
    },
  },
  {
    name: "x5c holding another key's certificate makes the set unreadable",
    expected: [401],
    build: async () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, x5c: [await selfSignedX5c(rsa("other"))] }), tokens: [one(k)] };
    },
  },
  {
    name: "x5c that is not a certificate makes the set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, x5c: ["AAAA"] }), tokens: [one(k)] };
    },
  },
  {
    name: "x5u as a string",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, x5u: "https://example.com/cert" }), tokens: [one(k)] };
    },
  },
  {
    name: "x5t of the wrong size makes the set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, x5t: "AAAA" }), tokens: [one(k)] };
    },
  },
  {
    name: "n with base64 padding makes the set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a", 2056);
      const n = Buffer.from(String(k.publicJwk.n), "base64url")
        .toString("base64")
        .replace(/\+/g, "-")
        .replace(/\//g, "_");
      return { jwks: set({ ...k.publicJwk, n }), tokens: [one(k)] };
    },
  },
  {
    name: "e with leading zero bytes",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, e: "AAEAAQ" }), tokens: [one(k)] };
    },
  },
  {
    name: "kid as a number makes the set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set(k.publicJwk, { ...rsa("b").publicJwk, kid: 7 }), tokens: [one(k)] };
    },
  },
  {
    name: "kid null is no kid",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: set({ ...k.publicJwk, kid: null }), tokens: [one(k, "RS256", { kid: undefined })] };
    },
  },
  {
    name: "a null key makes the set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      return { jwks: set(k.publicJwk, null), tokens: [one(k)] };
    },
  },
  {
    name: "a duplicate member in a JWK makes the set unreadable",
    expected: [401],
    build: () => {
      const k = rsa("a");
      const json = JSON.stringify(k.publicJwk);
      return { jwks: { body: `{"keys":[${json.slice(0, -1)},"use":"sig","use":"sig"}]}` }, tokens: [one(k)] };
    },
  },
  {
    name: "JWK member names are case-sensitive (KID is not kid)",
    expected: [401],
    build: () => {
      const k = rsa("a");
      const { kid, ...jwk } = k.publicJwk;
      return { jwks: set({ ...jwk, KID: kid }), tokens: [one(k)] };
    },
  },
  {
    name: "the set's keys member is read case-insensitively",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return { jwks: { body: { Keys: [k.publicJwk] } }, tokens: [one(k)] };
    },
  },
  {
    name: "an EC x coordinate without its leading zero makes the set unreadable",
    expected: [401],
    build: () => {
      const k = ec("a");
      return {
        jwks: set(k.publicJwk, { ...ec("b").publicJwk, x: Buffer.alloc(31, 1).toString("base64url") }),
        tokens: [one(k, "ES256")],
      };
    },
  },
  {
    name: "an unknown member is ignored",
    expected: [201],
    build: () => {
      const k = rsa("a");
      return {
        jwks: set({ ...k.publicJwk, key_ops: ["verify"], ext: true, nested: { a: 1, b: [null] } }),
        tokens: [one(k)],
      };
    },
  },
];

const rotation = (
  name: string,
  headers: Record<string, string> | undefined,
  waitMs: number,
  expected: 201 | 401,
  gatewayExpected?: 201 | 401,
): JwksCase => ({
  name,
  expected: [201],
  build: () => {
    const first = rsa("first");
    const second = rsa("second");
    return {
      jwks: { body: { keys: [first.publicJwk] }, headers },
      tokens: [one(first)],
      rotate: {
        jwks: { body: { keys: [first.publicJwk, second.publicJwk] }, headers },
        waitMs,
        tokens: [one(second)],
        expected: [expected],
        gatewayExpected: gatewayExpected === undefined ? undefined : [gatewayExpected],
      },
    };
  },
});

// go-oidc v2.5.0 jwks.go: an unknown kid refetches the set only when its expiry (Cache-Control
// max-age, s-maxage or Expires; none: at once) is less than 30 s ahead. The gateway's own 5 s
// cooldown between refetches is waited out (6 s), except in the deviation case.
export const rotationCases: JwksCase[] = [
  rotation("rotation: no caching headers, a new kid is fetched", undefined, 6_000, 201),
  rotation("rotation: max-age=3600, a new kid is not fetched", { "cache-control": "max-age=3600" }, 6_000, 401),
  rotation(
    "rotation: max-age=20 (within 30 s of expiry), a new kid is fetched",
    { "cache-control": "max-age=20" },
    6_000,
    201,
  ),
  rotation("rotation: s-maxage=3600 wins over max-age=0", { "cache-control": "max-age=0, s-maxage=3600" }, 6_000, 401),
  rotation(
    "rotation: Expires an hour ahead, a new kid is not fetched",
    { expires: new Date(Date.now() + 3600_000).toUTCString() },
    6_000,
    401,
  ),
  rotation("rotation: a malformed max-age counts as no caching", { "cache-control": "max-age=soon" }, 6_000, 201),
  rotation("rotation: no-store does not stop max-age", { "cache-control": "no-store, max-age=3600" }, 6_000, 401),
  rotation(
    "deviation: a new kid within the gateway's 5 s refetch cooldown is refused (kube-apiserver refetches)",
    undefined,
    0,
    201,
    401,
  ),
  {
    name: "rotation: an unreadable new set keeps the keys already fetched",
    expected: [201],
    build: () => {
      const first = rsa("first");
      const second = rsa("second");
      return {
        jwks: set(first.publicJwk),
        tokens: [one(first)],
        rotate: {
          jwks: set(first.publicJwk, second.publicJwk, { kty: "AKP" }),
          waitMs: 6_000,
          tokens: [one(second), one(first)],
          expected: [401, 201],
        },
      };
    },
  },
];

// --- generated key sets: the signer's JWK reshaped, other keys of every kind around it ---

const pool = {
  rsa: [rsa("pool-rsa-0"), rsa("pool-rsa-1")],
  ec: [ec("pool-ec-256", "P-256"), ec("pool-ec-384", "P-384"), ec("pool-ec-521", "P-521")],
  ed: scriptedKey("pool-ed", { kind: "ed25519" }),
};
const algOf = (key: ScriptedKey): JwtAlgorithm =>
  key.kid === "pool-ec-256"
    ? "ES256"
    : key.kid === "pool-ec-384"
      ? "ES384"
      : key.kid === "pool-ec-521"
        ? "ES512"
        : "RS256";
const signerArb = fc.constantFrom(...pool.rsa, ...pool.ec);
const kidArb = fc.oneof(fc.constantFrom("k1", "k2", "same", ""), fc.string({ maxLength: 4 }));
const memberArb = fc.record(
  {
    use: fc.constantFrom("sig", "enc", "", "other", null, 1),
    alg: fc.constantFrom("RS256", "ES256", "PS512", "none", "", null),
    key_ops: fc.constant(["verify"]),
    x5u: fc.constantFrom("https://example.com/x", null, {}),
    x5t: fc.constantFrom("", "AAAA", Buffer.alloc(20, 7).toString("base64url")),
    crit: fc.constant(true),
  },
  { requiredKeys: [] },
);
const otherKeyArb = fc.oneof(
  fc.constantFrom(
    { kty: "oct", k: "c2VjcmV0" },
    { kty: "oct" },
    { kty: "OKP", crv: "X25519", x: Buffer.alloc(32, 9).toString("base64url") },
    { kty: "OKP", crv: "Ed448", x: "AA" },
    { kty: "AKP", alg: "ML-DSA-44", pub: "AAAA" },
    { kty: "RSA" },
    { kty: "EC", crv: "secp256k1", x: "AA", y: "AA" },
    { kty: "rsa", n: "AQAB", e: "AQAB" },
    null,
    "a string",
    {},
  ),
  fc.constantFrom(...pool.rsa, ...pool.ec, pool.ed).chain((k) =>
    fc.record({ kid: kidArb, privateMembers: fc.boolean() }).map(({ kid, privateMembers }) => ({
      ...(privateMembers ? k.privateJwk : k.publicJwk),
      kid,
    })),
  ),
);
const shapeArb = fc.record({
  signer: signerArb,
  signerKid: fc.option(kidArb, { nil: undefined }),
  signerMembers: memberArb,
  signerPrivate: fc.boolean(),
  others: fc.array(otherKeyArb, { maxLength: 3 }),
  position: fc.nat({ max: 3 }),
  tokenKid: fc.constantFrom("signer", "none", "empty", "other"),
});
type Shape = typeof shapeArb extends fc.Arbitrary<infer T> ? T : never;

function generatedCase(shape: Shape, index: number): JwksCase {
  const { kid: _, ...bare } = shape.signerPrivate ? shape.signer.privateJwk : shape.signer.publicJwk;
  const signerJwk: Record<string, unknown> = { ...bare, ...shape.signerMembers };
  if (shape.signerKid !== undefined) signerJwk.kid = shape.signerKid;
  const keys: unknown[] = [...shape.others];
  keys.splice(Math.min(shape.position, keys.length), 0, signerJwk);
  const header =
    shape.tokenKid === "signer"
      ? { kid: shape.signerKid ?? undefined }
      : shape.tokenKid === "none"
        ? { kid: undefined }
        : shape.tokenKid === "empty"
          ? { kid: "" }
          : { kid: "other" };
  return {
    name: `generated ${index}: ${JSON.stringify({ keys }).slice(0, 300)} token kid ${JSON.stringify(header.kid)}`,
    build: () => ({ jwks: { body: { keys } }, tokens: [one(shape.signer, algOf(shape.signer), header)] }),
  };
}

// 60 key sets a run by default; KOG_PROPERTY_RUNS scales it (npm run test:differential).
const generatedCount = propertyParameters(0.12).numRuns;
const generated = fc
  .sample(shapeArb, { seed: propertySeed, numRuns: generatedCount })
  .map((shape, i) => generatedCase(shape, i));

const issuerName = (index: number) => `c${index}`;

/** One kube-apiserver and one gateway for `cases` (kube-apiserver takes at most 64 authenticators). */
function differentialSuite(title: string, cases: readonly JwksCase[]) {
  describe(title, { timeout: 900_000 }, () => {
    let issuers: ScriptedIssuers;
    let bed: TestBed;
    let gateway: RunningGateway;

    const authenticator = (name: string) => ({
      issuer: { url: issuers.url(name), certificateAuthority: issuers.caPem, audiences: [audience] },
      claimMappings: { username: { claim: "sub", prefix: "" } },
    });
    const names = cases.map((_, i) => issuerName(i));

    before(async () => {
      issuers = await startScriptedIssuers();
      const jwt = names.map(authenticator);
      bed = await startTestBed({ jwt: () => jwt });
      const file = await writeAuthenticationConfig(bed, jwt);
      gateway = await startTestGateway(await prepareGatewayCredentials(bed), [`--authentication-config=${file}`]);
      await gatewayReady(gateway, 60_000);
      // Both have discovered every issuer (the gateway also fetched each empty start-up set).
      await waitFor("discovery by both", async () => names.every((n) => issuers.discoveryFetches(n) >= 2), {
        timeoutMs: 60_000,
      });
      // Past the gateway's refetch cooldown after its start-up fetches.
      await new Promise((resolve) => setTimeout(resolve, 5_500));
    });
    after(async () => {
      await gateway?.gateway.stop();
      await bed?.stop();
      await issuers?.close();
    });

    const send = async (name: string, spec: TokenSpec) => {
      const now = Math.floor(Date.now() / 1000);
      const token = mintJwt({
        alg: spec.alg,
        key: { ...spec.key, privateJwk: spec.key.privateJwk, publicJwk: spec.key.publicJwk },
        header: spec.header,
        claims: { iss: issuers.url(name), aud: audience, sub: `user-${name}`, iat: now, exp: now + 300 },
      });
      const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token);
      const through = await selfSubjectReview(gateway.url, bed.ca.certPem, token);
      return { oracle, through };
    };

    const tally = new Map<string, number>();
    after(() => console.log(`${title}: kube-apiserver's decisions ${JSON.stringify([...tally])}`));
    cases.forEach((c, index) => {
      it(c.name, async () => {
        const name = issuerName(index);
        const { jwks, tokens, rotate } = await c.build();
        issuers.setJwks(name, jwks);
        const decisions: { oracle: Decision; through: Decision }[] = [];
        for (const spec of tokens) decisions.push(await send(name, spec));
        const oracle = decisions.map((d) => d.oracle.status);
        const through = decisions.map((d) => d.through.status);
        if (c.expected)
          assert.deepEqual(oracle, c.expected, `kube-apiserver decided ${oracle} (expected ${c.expected})`);
        else
          assert.ok(
            oracle.every((status) => status === 201 || status === 401),
            `kube-apiserver answered ${oracle}`,
          );
        for (const d of decisions) assert.deepEqual(d.through, d.oracle);
        assert.deepEqual(through, oracle);
        tally.set(oracle.join(","), (tally.get(oracle.join(",")) ?? 0) + 1);
        if (!rotate) return;
        issuers.setJwks(name, rotate.jwks);
        await new Promise((resolve) => setTimeout(resolve, rotate.waitMs));
        const after = [];
        for (const spec of rotate.tokens) after.push(await send(name, spec));
        const afterOracle = after.map((d) => d.oracle.status);
        assert.deepEqual(afterOracle, rotate.expected, `after the rotation kube-apiserver decided ${afterOracle}`);
        if (rotate.gatewayExpected) {
          assert.deepEqual(
            after.map((d) => d.through.status),
            rotate.gatewayExpected,
          );
        } else for (const d of after) assert.deepEqual(d.through, d.oracle);
      });
    });
  });
}

differentialSuite("differential: JWKS shapes as go-jose v2.6.3 and go-oidc v2.5.0 read them", [
  ...fixedCases,
  ...rotationCases,
]);
differentialSuite(`differential: generated JWKS shapes (seed ${propertySeed})`, generated);
