// One issuer's token check, step for step as kube-apiserver's jwtAuthenticator.AuthenticateToken
// (k8s.io/apiserver plugin/pkg/authenticator/token/oidc/oidc.go): the id token is verified as
// go-oidc does (id-token-verifier.ts), distributed claims are expanded, then the claims are mapped.
import { DistributedClaimsResolver } from "./distributed-claims.ts";
import { AuthenticationError } from "./errors.ts";
import { decodeRawBase64Url, goBool, goString, goStringOrArray, structField } from "./go-json.ts";
import { verifyIdToken } from "./id-token-verifier.ts";
import type { IssuerKeys, IssuerKeysEvents } from "./issuer-keys.ts";
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

const _nbfLeewayMs = 60_000;

export class JwtAuthenticator {
  readonly config: JwtAuthenticatorConfig;
  readonly keys: IssuerKeys;

  readonly #distributedClaims: DistributedClaimsResolver | undefined;

  constructor(config: JwtAuthenticatorConfig, keys: IssuerKeys, events?: IssuerKeysEvents) {
    this.config = config;
    this.keys = keys;
    const groupsClaim = config.claimMappings.groups?.claim;
    this.#distributedClaims = groupsClaim ? new DistributedClaimsResolver(config, groupsClaim, events) : undefined;
  }

  close(): void {
    this.keys.close();
    this.#distributedClaims?.close();
  }

  /** Whether this authenticator handles the token at all (kube-apiserver: hasCorrectIssuer). */
  handles(token: ParsedToken): boolean {
    return token.issuer === this.config.issuer.url;
  }

  async authenticate(token: ParsedToken): Promise<AuthenticatedToken> {
    const expiresAt = await verifyIdToken(token, this.keys, {
      issuerUrl: this.config.issuer.url,
      audiences: this.config.issuer.audiences,
      algorithms: this.config.signingAlgorithms,
    });
    const claims = { ...token.payload };
    await this.#distributedClaims?.expand(claims);

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
