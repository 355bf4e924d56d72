// oidc-provider's JWKS endpoint, observed and extended by a test: counts fetches of /jwks and
// serves extra public keys (a rotation) next to the issuer's own.
import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import type { SigningKey } from "../../testbed/issuer/keys.ts";
import type { OidcIssuer } from "../../testbed/issuer/oidc-provider.ts";

export interface JwksTap {
  /** GET /jwks requests the issuer answered so far. */
  readonly fetches: number;
  /** Publishes a new RSA key next to the issuer's keys and returns it for signing. */
  publishNewKey(kid: string): SigningKey;
}

// oidc-provider's JWKS action reads `instance(provider).jwks` on every GET /jwks (and nothing
// else reads it), so a getter there sees each fetch. Koa middleware added with `provider.use`
// would not: the bed composed the provider's middleware when it started.
type ProviderInstance = { jwks: { keys: JsonWebKey[] } };
const weakCache = "oidc-provider/lib/helpers/weak_cache.js";
const { default: instance } = (await import(weakCache)) as { default: (provider: object) => ProviderInstance };

export function tapJwks(issuer: OidcIssuer): JwksTap {
  let fetches = 0;
  const extra: JsonWebKey[] = [];
  const state = instance(issuer.provider);
  const own = state.jwks.keys;
  Object.defineProperty(state, "jwks", {
    configurable: true,
    get: () => {
      fetches++;
      return { keys: [...own, ...extra] };
    },
  });
  return {
    get fetches() {
      return fetches;
    },
    publishNewKey: (kid) => {
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const key: SigningKey = {
        kid,
        privateKey: pair.privateKey,
        publicKey: pair.publicKey,
        privateJwk: { ...pair.privateKey.export({ format: "jwk" }), kid, use: "sig" },
        publicJwk: { ...pair.publicKey.export({ format: "jwk" }), kid, use: "sig" },
      };
      extra.push(key.publicJwk);
      return key;
    },
  };
}
