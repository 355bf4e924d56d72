// A JSON Web Key Set as kube-apiserver's go-oidc v2.5.0 remoteKeySet reads it through go-jose
// v2.6.3 (github.com/coreos/go-oidc jwks.go; gopkg.in/go-jose/go-jose.v2 jwk.go
// JSONWebKeySet/JSONWebKey.UnmarshalJSON): which keys of a set can verify a token.
import { createPublicKey, type KeyObject } from "node:crypto";

export interface SigningKey {
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

export function toSigningKeys(jwks: unknown): SigningKey[] {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new Error("JWKS has no keys array");
  const result: SigningKey[] = [];
  for (const jwk of keys) {
    if (!jwk || typeof jwk !== "object") continue;
    const { kty, use, kid } = jwk as { kty?: unknown; use?: unknown; kid?: unknown };
    if (use !== undefined && use !== "sig") continue;
    if (kty !== "RSA" && kty !== "EC") continue; // the algorithms kube-apiserver accepts
    try {
      result.push({
        kid: typeof kid === "string" ? kid : undefined,
        key: createPublicKey({ key: jwk, format: "jwk" }),
      });
    } catch {
      // A key Node cannot import cannot verify anything; skip it like go-jose skips unknown keys.
    }
  }
  return result;
}
