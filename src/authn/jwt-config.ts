// One JWT authenticator, in the shape of kube-apiserver's apiserver.config.k8s.io
// JWTAuthenticator (staging/src/k8s.io/apiserver/pkg/apis/apiserver/types.go). The --oidc-*
// flags are converted into this shape exactly as kube-apiserver converts them
// (pkg/kubeapiserver/options/authentication.go, ToAuthenticationConfig).

/** Algorithms kube-apiserver accepts (go-oidc's list; oidc.go allowedSigningAlgs). */
export const validSigningAlgorithms = [
  "RS256",
  "RS384",
  "RS512",
  "ES256",
  "ES384",
  "ES512",
  "PS256",
  "PS384",
  "PS512",
] as const;

export interface PrefixedClaim {
  readonly claim: string;
  /** Applied when non-empty. */
  readonly prefix: string;
}

/** A CEL expression over `claims` (or `user` for user validation rules). */
export interface Expression {
  readonly expression: string;
}

export interface ValidationRule extends Expression {
  readonly message: string;
}

export interface JwtAuthenticatorConfig {
  readonly issuer: {
    readonly url: string;
    /** Where to fetch discovery instead of `${url}/.well-known/openid-configuration`. */
    readonly discoveryUrl?: string;
    /** PEM bundle trusted for the issuer; system roots when absent. */
    readonly certificateAuthority?: string;
    readonly audiences: readonly string[];
  };
  readonly claimMappings: {
    readonly username: PrefixedClaim | Expression;
    readonly groups?: PrefixedClaim | Expression;
    readonly uid?: { readonly claim: string } | Expression;
    /** Extra values from CEL: a string or list of strings; empty means the key is left out. */
    readonly extra?: readonly { readonly key: string; readonly valueExpression: string }[];
  };
  /** Claims that must be present with exactly this string value. */
  readonly requiredClaims: Readonly<Record<string, string>>;
  /** claimValidationRules with a CEL expression: all must be true. */
  readonly claimValidationExpressions?: readonly ValidationRule[];
  /** userValidationRules: CEL over `user`, all must be true. */
  readonly userValidationRules?: readonly ValidationRule[];
  readonly signingAlgorithms: readonly string[];
}
