// The raw signer mints any JWT a test needs, well-formed or hostile: any header (alg, kid,
// crit, typ), any claims or a raw payload string (duplicate keys, odd unicode), signed with an
// issuer's published key, an unpublished one, an HMAC secret (alg confusion) or not at all.
// It deliberately bypasses every safety check a JWT library would apply.
import { createHmac, constants as cryptoConstants, type KeyObject, sign } from "node:crypto";
import type { SigningKey } from "./keys.ts";

export type JwtAlgorithm =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "EdDSA"
  | "HS256"
  | "HS384"
  | "HS512"
  | "none";

export interface MintOptions {
  /** The `alg` used to sign; also written to the header unless `header.alg` overrides it. */
  readonly alg: JwtAlgorithm;
  /** Asymmetric key for RS/PS/ES/EdDSA; its kid goes in the header unless overridden. */
  readonly key?: SigningKey;
  /** Secret for HS*: e.g. the issuer's public key PEM for an alg-confusion attack. */
  readonly hmacSecret?: string | Buffer;
  /** Extra or overriding header fields; `undefined` values remove a field. */
  readonly header?: Record<string, unknown>;
  /** Claims, serialised with JSON.stringify. */
  readonly claims?: Record<string, unknown>;
  /** A payload string used verbatim instead of `claims` (duplicate keys, malformed JSON). */
  readonly rawPayload?: string;
  /** Replaces the computed signature segment (e.g. to corrupt it). */
  readonly signatureOverride?: string;
}

const hashOf = (alg: string): "sha256" | "sha384" | "sha512" =>
  alg.endsWith("384") ? "sha384" : alg.endsWith("512") ? "sha512" : "sha256";

export function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString("base64url");
}

function signingInput(options: MintOptions): string {
  const header: Record<string, unknown> = { alg: options.alg, typ: "JWT" };
  if (options.key) header.kid = options.key.kid;
  for (const [name, value] of Object.entries(options.header ?? {})) {
    if (value === undefined) delete header[name];
    else header[name] = value;
  }
  const payload = options.rawPayload ?? JSON.stringify(options.claims ?? {});
  return `${base64url(JSON.stringify(header))}.${base64url(payload)}`;
}

function requireKey(options: MintOptions): KeyObject {
  if (!options.key) throw new Error(`alg ${options.alg} needs a key`);
  return options.key.privateKey;
}

function signature(options: MintOptions, input: string): Buffer {
  const { alg } = options;
  const data = Buffer.from(input);
  if (alg === "none") return Buffer.alloc(0);
  if (alg.startsWith("HS")) {
    if (options.hmacSecret === undefined) throw new Error(`alg ${alg} needs hmacSecret`);
    return createHmac(hashOf(alg), options.hmacSecret).update(data).digest();
  }
  return signWithKey(alg, requireKey(options), data);
}

/** The JWS signature of `data` with an asymmetric key, as JOSE writes it (ES*: raw r||s, not DER). */
export function signWithKey(alg: string, key: KeyObject, data: Buffer): Buffer {
  if (alg === "EdDSA") return sign(null, data, key);
  if (alg.startsWith("RS")) return sign(hashOf(alg), data, { key, padding: cryptoConstants.RSA_PKCS1_PADDING });
  if (alg.startsWith("PS")) {
    return sign(hashOf(alg), data, {
      key,
      padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
      saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  return sign(hashOf(alg), data, { key, dsaEncoding: "ieee-p1363" });
}

/** Returns a compact JWS. */
export function mintJwt(options: MintOptions): string {
  const input = signingInput(options);
  const sig = options.signatureOverride ?? base64url(signature(options, input));
  return `${input}.${sig}`;
}

export interface IdTokenClaimsOptions {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly subject: string;
  /** Seconds from now until `exp`; negative for an already expired token. */
  readonly expiresInSeconds?: number;
  /** Seconds from now for `nbf`; omitted when undefined. */
  readonly notBeforeInSeconds?: number;
  readonly extra?: Record<string, unknown>;
}

/** Claims shaped like an issuer's id token, with times relative to now. */
export function idTokenClaims(options: IdTokenClaimsOptions): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: options.issuer,
    sub: options.subject,
    aud: options.audience,
    iat: now,
    exp: now + (options.expiresInSeconds ?? 600),
  };
  if (options.notBeforeInSeconds !== undefined) claims.nbf = now + options.notBeforeInSeconds;
  return { ...claims, ...options.extra };
}
