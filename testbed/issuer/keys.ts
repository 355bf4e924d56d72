// Signing keys for a test-bed issuer. The "published" keys are the issuer's own: oidc-provider
// signs with them and serves their public halves at its jwks_uri. The "unpublished" keys are
// never served, so tokens signed with them must fail verification (hostile-token tests).
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly privateJwk: JsonWebKey;
  readonly publicJwk: JsonWebKey;
}

export interface IssuerKeys {
  /** Served at the issuer's jwks_uri; the first RSA key signs id tokens by default. */
  readonly published: readonly SigningKey[];
  /** Never served. Mint with a published `kid` in the header to forge a key-substitution token. */
  readonly unpublished: readonly SigningKey[];
}

type KeySpec = { kind: "rsa" } | { kind: "ec"; curve: "P-256" | "P-384" | "P-521" } | { kind: "ed25519" };

function generate(kid: string, spec: KeySpec): SigningKey {
  const pair =
    spec.kind === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : spec.kind === "ec"
        ? generateKeyPairSync("ec", { namedCurve: spec.curve })
        : generateKeyPairSync("ed25519");
  const privateJwk = { ...pair.privateKey.export({ format: "jwk" }), kid, use: "sig" };
  const publicJwk = { ...pair.publicKey.export({ format: "jwk" }), kid, use: "sig" };
  return { kid, privateKey: pair.privateKey, publicKey: pair.publicKey, privateJwk, publicJwk };
}

export function generateIssuerKeys(): IssuerKeys {
  return {
    published: [
      generate("rsa-1", { kind: "rsa" }),
      generate("ec-p256", { kind: "ec", curve: "P-256" }),
      generate("ec-p384", { kind: "ec", curve: "P-384" }),
      generate("ec-p521", { kind: "ec", curve: "P-521" }),
      generate("ed25519", { kind: "ed25519" }),
    ],
    unpublished: [generate("rogue-rsa", { kind: "rsa" }), generate("rogue-ec", { kind: "ec", curve: "P-256" })],
  };
}

export function keyByKid(keys: IssuerKeys, kid: string): SigningKey {
  const key = [...keys.published, ...keys.unpublished].find((k) => k.kid === kid);
  if (!key) throw new Error(`no test-bed signing key with kid ${JSON.stringify(kid)}`);
  return key;
}
