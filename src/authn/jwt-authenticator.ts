// One issuer's token check, step for step as kube-apiserver's jwtAuthenticator.AuthenticateToken
// (k8s.io/apiserver plugin/pkg/authenticator/token/oidc/oidc.go) and go-oidc v2's
// IDTokenVerifier.Verify (github.com/coreos/go-oidc verify.go), which it calls.
import { compactVerify } from "jose";
import { AuthenticationError } from "./errors.ts";
import {
  decodeRawBase64Url,
  GoTypeError,
  goBool,
  goString,
  goStringOrArray,
  goUnixSeconds,
  structField,
} from "./go-json.ts";
import type { IssuerKeys } from "./issuer-keys.ts";
import type { JwtAuthenticatorConfig } from "./jwt-config.ts";
import type { UserInfo } from "./user.ts";

/** A token split and decoded once, before any issuer looks at it. */
export interface ParsedToken {
  readonly raw: string;
  /** The unverified `iss`, decoded as kube-apiserver's untrustedIssuer does. */
  readonly issuer: string;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/** kube-apiserver's untrustedIssuer plus the header; undefined when no issuer can claim it. */
export function parseToken(raw: string): ParsedToken | undefined {
  if (raw.trimStart().startsWith("{")) return undefined;
  const parts = raw.split(".");
  if (parts.length !== 3) return undefined;
  const payloadBytes = decodeRawBase64Url(parts[1] ?? "");
  if (!payloadBytes) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(payloadBytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
  let issuer: string;
  try {
    issuer = goString(structField(payload as Record<string, unknown>, "iss").value ?? null);
  } catch {
    return undefined;
  }
  if (issuer === "accounts.google.com") issuer = "https://accounts.google.com";
  // go-jose accepts the header with or without base64 padding.
  const headerBytes = decodeRawBase64Url((parts[0] ?? "").replace(/=+$/, ""));
  let header: unknown;
  try {
    header = headerBytes ? JSON.parse(headerBytes.toString("utf8")) : undefined;
  } catch {
    header = undefined;
  }
  return {
    raw,
    issuer,
    header: header && typeof header === "object" && !Array.isArray(header) ? (header as Record<string, unknown>) : {},
    payload: payload as Record<string, unknown>,
  };
}

export interface AuthenticatedToken {
  readonly user: UserInfo;
  /** `exp` in epoch milliseconds: the identity must not be reused past it. */
  readonly expiresAt: number;
}

const nbfLeewayMs = 60_000;

export class JwtAuthenticator {
  readonly config: JwtAuthenticatorConfig;
  readonly keys: IssuerKeys;

  constructor(config: JwtAuthenticatorConfig, keys: IssuerKeys) {
    this.config = config;
    this.keys = keys;
  }

  /** Whether this authenticator handles the token at all (kube-apiserver: hasCorrectIssuer). */
  handles(token: ParsedToken): boolean {
    return token.issuer === this.config.issuer.url;
  }

  async authenticate(token: ParsedToken): Promise<AuthenticatedToken> {
    const notReady = this.keys.notReadyReason;
    if (notReady) {
      throw new AuthenticationError("ISSUER_NOT_READY", `oidc: authenticator not initialized: ${notReady.message}`);
    }
    const alg = token.header.alg;
    if (typeof alg !== "string" || !this.config.signingAlgorithms.includes(alg)) {
      throw new AuthenticationError(
        "UNSUPPORTED_ALG",
        `oidc: id token signed with unsupported algorithm, expected ${JSON.stringify(this.config.signingAlgorithms)} got ${JSON.stringify(alg)}`,
      );
    }
    await this.#verifySignature(token, alg);
    const claims = token.payload;
    const expiresAt = this.#verifyStandardClaims(claims);

    // Distributed claims (OIDC core §5.6.2) for the groups claim are not resolved yet: refuse
    // rather than silently drop groups kube-apiserver would have fetched.
    const groupsClaim = this.config.claimMappings.groups?.claim;
    if (groupsClaim && !(groupsClaim in claims)) {
      const names = claims._claim_names;
      if (names && typeof names === "object" && groupsClaim in names) {
        throw new AuthenticationError(
          "DISTRIBUTED_CLAIMS_UNSUPPORTED",
          `distributed claim ${JSON.stringify(groupsClaim)} is not supported`,
        );
      }
    }

    const user: UserInfo = {
      username: this.#username(claims),
      uid: this.#uid(claims),
      groups: this.#groups(claims),
      extra: this.#extra(claims),
    };
    for (const [claim, want] of Object.entries(this.config.requiredClaims)) {
      if (!(claim in claims)) {
        throw new AuthenticationError("REQUIRED_CLAIM", `oidc: required claim ${claim} not present in ID token`);
      }
      const got = this.#claim(claims, claim, goString, "REQUIRED_CLAIM", `oidc: parse claim ${claim}`);
      if (got !== want) {
        throw new AuthenticationError(
          "REQUIRED_CLAIM",
          `oidc: required claim ${claim} value does not match. Got = ${got}, want = ${want}`,
        );
      }
    }
    return { user, expiresAt };
  }

  async #verifySignature(token: ParsedToken, alg: string): Promise<void> {
    const kid = typeof token.header.kid === "string" && token.header.kid !== "" ? token.header.kid : undefined;
    const attempt = async () => {
      for (const { key } of this.keys.candidates(kid)) {
        try {
          await compactVerify(token.raw, key, { algorithms: [alg] });
          return true;
        } catch {
          // try the next key
        }
      }
      return false;
    };
    if (await attempt()) return;
    if ((await this.keys.refresh()) && (await attempt())) return;
    throw new AuthenticationError(
      "BAD_SIGNATURE",
      "oidc: verify token: failed to verify signature: failed to verify id token signature",
    );
  }

  /** go-oidc's idToken struct decode and its issuer, audience and time checks. */
  #verifyStandardClaims(claims: Record<string, unknown>): number {
    let issuer: string;
    let audience: string[];
    let expiry: number | undefined;
    let notBefore: number | undefined;
    try {
      const field = (name: string) => structField(claims, name);
      issuer = field("iss").present ? goString(field("iss").value) : "";
      if (field("sub").present) goString(field("sub").value);
      if (field("nonce").present) goString(field("nonce").value);
      if (field("at_hash").present) goString(field("at_hash").value);
      const aud = field("aud");
      // go-oidc's audience: a string (null leaves "") or an array of strings.
      audience = !aud.present
        ? []
        : typeof aud.value === "string" || aud.value === null
          ? [goString(aud.value)]
          : goStringOrArray(aud.value);
      const exp = field("exp");
      if (exp.present) expiry = goUnixSeconds(exp.value);
      const iat = field("iat");
      if (iat.present) goUnixSeconds(iat.value);
      const nbf = field("nbf");
      if (nbf.present && nbf.value !== null) notBefore = goUnixSeconds(nbf.value);
      this.#checkClaimSources(field("_claim_names"), field("_claim_sources"));
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      throw new AuthenticationError("BAD_CLAIMS", `oidc: failed to unmarshal claims: ${(error as Error).message}`);
    }
    if (issuer !== this.config.issuer.url) {
      throw new AuthenticationError(
        "WRONG_ISSUER",
        `oidc: id token issued by a different provider, expected ${JSON.stringify(this.config.issuer.url)} got ${JSON.stringify(issuer)}`,
      );
    }
    const audiences = this.config.issuer.audiences;
    if (!audience.some((a) => audiences.includes(a))) {
      throw new AuthenticationError(
        "WRONG_AUDIENCE",
        audiences.length === 1
          ? `oidc: expected audience ${JSON.stringify(audiences[0])} got ${JSON.stringify(audience)}`
          : `oidc: expected audience in ${JSON.stringify(audiences)} got ${JSON.stringify(audience)}`,
      );
    }
    const now = Date.now();
    // A missing exp is Go's zero time: long expired. No leeway (go-oidc verify.go).
    const expiresAt = expiry === undefined ? Number.NEGATIVE_INFINITY : expiry * 1000;
    if (expiresAt < now) {
      throw new AuthenticationError(
        "EXPIRED",
        `oidc: token is expired (Token Expiry: ${expiry === undefined ? "0001-01-01T00:00:00Z" : new Date(expiresAt).toISOString()})`,
      );
    }
    if (notBefore !== undefined && now + nbfLeewayMs < notBefore * 1000) {
      throw new AuthenticationError(
        "NOT_YET_VALID",
        `oidc: current time before the nbf (not before) time: ${new Date(notBefore * 1000).toISOString()}`,
      );
    }
    return expiresAt;
  }

  #checkClaimSources(names: { present: boolean; value: unknown }, sources: { present: boolean; value: unknown }): void {
    const asObject = (value: unknown, what: string) => {
      if (value === null || value === undefined) return {};
      if (typeof value !== "object" || Array.isArray(value)) throw new GoTypeError(`json: cannot unmarshal ${what}`);
      return value as Record<string, unknown>;
    };
    const nameMap = names.present ? asObject(names.value, "_claim_names") : {};
    const sourceMap = sources.present ? asObject(sources.value, "_claim_sources") : {};
    for (const source of Object.values(sourceMap)) {
      const src = asObject(source, "claim source");
      if ("endpoint" in src) goString(src.endpoint);
      if ("access_token" in src) goString(src.access_token);
    }
    for (const value of Object.values(nameMap)) {
      const source = goString(value);
      if (source === "") throw new AuthenticationError("BAD_CLAIMS", "oidc: failed to obtain source from claim name");
      if (!(source in sourceMap)) throw new AuthenticationError("BAD_CLAIMS", "oidc: source does not exist");
    }
  }

  #claim<T>(
    claims: Record<string, unknown>,
    name: string,
    decode: (v: unknown) => T,
    code: "USERNAME_CLAIM" | "GROUPS_CLAIM" | "UID_CLAIM" | "REQUIRED_CLAIM" | "EMAIL_NOT_VERIFIED",
    context: string,
  ): T {
    if (!(name in claims)) throw new AuthenticationError(code, `${context}: claim not present`);
    try {
      return decode(claims[name]);
    } catch (error) {
      throw new AuthenticationError(code, `${context}: ${(error as Error).message}`);
    }
  }

  #username(claims: Record<string, unknown>): string {
    const { claim, prefix } = this.config.claimMappings.username;
    const username = this.#claim(
      claims,
      claim,
      goString,
      "USERNAME_CLAIM",
      `oidc: parse username claims ${JSON.stringify(claim)}`,
    );
    if (claim === "email" && "email_verified" in claims) {
      const verified = this.#claim(
        claims,
        "email_verified",
        goBool,
        "EMAIL_NOT_VERIFIED",
        "oidc: parse 'email_verified' claim",
      );
      if (!verified) throw new AuthenticationError("EMAIL_NOT_VERIFIED", "oidc: email not verified");
    }
    return prefix ? prefix + username : username;
  }

  #groups(claims: Record<string, unknown>): string[] {
    const mapping = this.config.claimMappings.groups;
    if (!mapping || !(mapping.claim in claims)) return [];
    const groups = this.#claim(
      claims,
      mapping.claim,
      goStringOrArray,
      "GROUPS_CLAIM",
      `oidc: parse groups claim ${JSON.stringify(mapping.claim)}`,
    );
    return mapping.prefix ? groups.map((g) => mapping.prefix + g) : groups;
  }

  #uid(claims: Record<string, unknown>): string | undefined {
    const mapping = this.config.claimMappings.uid;
    if (!mapping) return undefined;
    return (
      this.#claim(
        claims,
        mapping.claim,
        goString,
        "UID_CLAIM",
        `oidc: parse uid claim ${JSON.stringify(mapping.claim)}`,
      ) || undefined
    );
  }

  #extra(claims: Record<string, unknown>): Record<string, string[]> {
    // authentication.kubernetes.io/credential-id, k8s.io/apiserver pkg/authentication/token/jwt.
    const jti = claims.jti;
    return typeof jti === "string" && jti !== ""
      ? { "authentication.kubernetes.io/credential-id": [`JTI=${jti}`] }
      : {};
  }
}
