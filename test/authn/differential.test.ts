// Differential: the gateway's authentication decisions and identities against kube-apiserver's
// own OIDC authenticator, started with the very same --oidc-* flags. Every token the raw
// signer can mint goes to both (a SelfSubjectReview, directly and through the gateway); both
// must refuse it, or both must accept it as the same user. The `token` command, given the same
// flags, must come to the same decision and identity as well.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BedIssuers, startTestBed, type TestBed } from "../../testbed/bed.ts";
import { prepareGatewayCredentials, type RunningGateway, startTestGateway } from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { base64url } from "../../testbed/issuer/raw-signer.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { assertTokenCommandAgrees } from "../helpers/token-verdict.ts";

interface Variant {
  readonly name: string;
  readonly flags: (issuerUrl: string) => string[];
}

const everyAlgorithm = "--oidc-signing-algs=RS256,RS384,RS512,ES256,ES384,ES512,PS256,PS384,PS512";

const variants: Variant[] = [
  {
    name: "email username, groups prefixed oidc:, RS256 only",
    flags: (iss) => [
      `--oidc-issuer-url=${iss}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=email",
      "--oidc-groups-claim=groups",
      "--oidc-groups-prefix=oidc:",
    ],
  },
  {
    name: "sub username with kube-apiserver's default issuer# prefix, every algorithm",
    flags: (iss) => [
      `--oidc-issuer-url=${iss}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-groups-claim=groups",
      everyAlgorithm,
    ],
  },
  {
    name: "prefixes off, a required claim",
    flags: (iss) => [
      `--oidc-issuer-url=${iss}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=preferred_username",
      "--oidc-username-prefix=-",
      "--oidc-groups-claim=groups",
      "--oidc-required-claim=hd=example.com",
      everyAlgorithm,
    ],
  },
];

type Mint = (bed: TestBed) => string;

function claims(bed: TestBed, changes: Record<string, unknown> = {}, remove: string[] = []): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = {
    iss: bed.issuer.url,
    aud: clients.kubernetes.id,
    sub: "user-0001",
    preferred_username: "differential",
    email: "differential@example.com",
    email_verified: true,
    groups: ["team-a", "team-b"],
    hd: "example.com",
    iat: now,
    exp: now + 300,
    ...changes,
  };
  for (const key of remove) delete base[key];
  return base;
}

const signed =
  (
    changes: Record<string, unknown> = {},
    remove: string[] = [],
    alg: "RS256" | "ES256" | "PS256" | "ES512" = "RS256",
  ) =>
  (bed: TestBed) =>
    bed.mint({
      alg,
      kid: { RS256: "rsa-1", PS256: "rsa-1", ES256: "ec-p256", ES512: "ec-p521" }[alg],
      claims: claims(bed, changes, remove),
    });

const now = () => Math.floor(Date.now() / 1000);

const cases: [string, Mint][] = [
  ["valid RS256", signed()],
  ["valid ES256", signed({}, [], "ES256")],
  ["valid PS256", signed({}, [], "PS256")],
  ["valid ES512", signed({}, [], "ES512")],
  ["expired a minute ago", signed({ exp: now() - 60 })],
  ["expired a second ago", signed({ exp: now() - 1 })],
  ["missing exp", signed({}, ["exp"])],
  ["exp as a float", signed({ exp: now() + 300.75 })],
  ["exp as a string", signed({ exp: String(now() + 300) })],
  ["nbf 30 s ahead (within the 1-minute leeway)", signed({ nbf: now() + 30 })],
  ["nbf 5 minutes ahead", signed({ nbf: now() + 300 })],
  ["nbf null", signed({ nbf: null })],
  ["wrong audience", signed({ aud: "other-app" })],
  ["audience array containing the client", signed({ aud: ["other-app", clients.kubernetes.id] })],
  ["audience null", signed({ aud: null })],
  ["wrong issuer", signed({ iss: "https://issuer.example.com" })],
  [
    "issuer in a differently-cased duplicate key",
    (bed) =>
      bed.mint({
        alg: "RS256",
        kid: "rsa-1",
        rawPayload: JSON.stringify(claims(bed))
          .replace("{", '{"ISS":"https://evil.example.com",')
          .replace('"iss"', '"iss"'),
      }),
  ],
  [
    "issuer overridden by a later case-folded key",
    (bed) =>
      bed.mint({
        alg: "RS256",
        kid: "rsa-1",
        rawPayload: `${JSON.stringify(claims(bed)).slice(0, -1)},"ISS":"https://evil.example.com"}`,
      }),
  ],
  ["unknown kid (unpublished key)", (bed) => bed.mint({ alg: "RS256", kid: "rogue-rsa", claims: claims(bed) })],
  [
    "bad signature (unpublished key, published kid)",
    (bed) => bed.mint({ alg: "RS256", kid: "rogue-rsa", header: { kid: "rsa-1" }, claims: claims(bed) }),
  ],
  [
    "corrupted signature",
    (bed) =>
      bed.mint({ alg: "RS256", kid: "rsa-1", claims: claims(bed), signatureOverride: base64url(Buffer.alloc(256, 7)) }),
  ],
  ["no kid header", (bed) => bed.mint({ alg: "RS256", kid: "rsa-1", header: { kid: undefined }, claims: claims(bed) })],
  ["alg none", (bed) => bed.mint({ alg: "none", claims: claims(bed) })],
  [
    "HS256 keyed with the issuer's public key (alg confusion)",
    (bed) => {
      const key = bed.issuer.keys.published.find((k) => k.kid === "rsa-1");
      const pem = key?.publicKey.export({ type: "spki", format: "pem" }).toString() ?? "";
      return bed.mint({ alg: "HS256", hmacSecret: pem, header: { kid: "rsa-1" }, claims: claims(bed) });
    },
  ],
  [
    "unknown crit header",
    (bed) =>
      bed.mint({ alg: "RS256", kid: "rsa-1", header: { crit: ["x-custom"], "x-custom": 1 }, claims: claims(bed) }),
  ],
  ["missing username claims", signed({}, ["email", "sub", "preferred_username"])],
  ["username claims that are numbers", signed({ email: 7, preferred_username: 7 })],
  ["sub as a number", signed({ sub: 42 })],
  ["email_verified false", signed({ email_verified: false })],
  ["email_verified as a string", signed({ email_verified: "true" })],
  ["email_verified null", signed({ email_verified: null })],
  ["no email_verified", signed({}, ["email_verified"])],
  ["groups as a string", signed({ groups: "solo" })],
  ["groups as a number", signed({ groups: 42 })],
  ["groups null", signed({ groups: null })],
  ["groups with a null element", signed({ groups: [null, "team-c"] })],
  ["groups absent", signed({}, ["groups"])],
  ["jti as a string", signed({ jti: "token-id-1" })],
  ["jti as a number", signed({ jti: 12 })],
  ["required claim hd absent", signed({}, ["hd"])],
  ["required claim hd different", signed({ hd: "example.org" })],
  ["required claim hd as a number", signed({ hd: 1 })],
  ["distributed claim names without a source", signed({ _claim_names: { other: "src1" } })],
  ["unicode username", signed({ email: "zoë@example.com", preferred_username: "zoë" })],
  ["malformed: one segment", () => "not-a-jwt"],
  [
    "malformed: padded payload",
    (bed) => {
      const [h, p, s] = signed()(bed).split(".");
      return `${h}.${p}==.${s}`;
    },
  ],
  [
    "malformed: header is not JSON",
    (bed) => {
      const [, p, s] = signed()(bed).split(".");
      return `${base64url("not json")}.${p}.${s}`;
    },
  ],
];

for (const variant of variants) {
  describe(`differential: ${variant.name}`, { timeout: 300_000 }, () => {
    let bed: TestBed;
    let gateway: RunningGateway;

    before(async () => {
      bed = await startTestBed({
        oidcFlags: ({ oidcProvider, caFile }: BedIssuers & { caFile: string }) => [
          ...variant.flags(oidcProvider.url),
          `--oidc-ca-file=${caFile}`,
        ],
      });
      gateway = await startTestGateway(await prepareGatewayCredentials(bed), variant.flags(bed.issuer.url));
      await waitFor(
        "the gateway's readiness",
        async () => (await fetch(`${gateway.healthUrl}/readyz`)).status === 200,
        {
          timeoutMs: 30_000,
        },
      );
      // kube-apiserver initialises its authenticator asynchronously too.
      await waitFor(
        "kube-apiserver's OIDC authenticator",
        async () => (await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, signed()(bed))).status === 201,
        {
          timeoutMs: 30_000,
        },
      );
    });
    after(async () => {
      await gateway?.gateway.stop();
      await bed?.stop();
    });

    for (const [name, mint] of cases) {
      it(name, async () => {
        const token = mint(bed);
        const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token);
        const through = await selfSubjectReview(gateway.url, bed.ca.certPem, token);
        assert.ok([201, 401].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
        assert.deepEqual(through, oracle);
        await assertTokenCommandAgrees(
          [...variant.flags(bed.issuer.url), `--oidc-ca-file=${bed.dir}/ca.crt`],
          token,
          oracle,
        );
      });
    }
  });
}
