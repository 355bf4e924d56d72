// A token taken apart for people, without verifying anything: header, claims, and the time
// claims with their distance from now (kubelogin's pkg/jwt/decode.go does the same for its
// expiry check). The raw token and its signature never leave this module; a short fingerprint
// lets people tell two tokens apart in output and bug reports.
import { createHash } from "node:crypto";
import { GatewayError } from "../errors.ts";
import { formatRelative } from "./relative-time.ts";

export type TokenDecodeFailure = "NOT_A_JWT" | "ENCRYPTED_TOKEN" | "BAD_BASE64URL" | "BAD_JSON" | "NOT_AN_OBJECT";

export class TokenDecodeError extends GatewayError {
  declare readonly code: TokenDecodeFailure;
  constructor(code: TokenDecodeFailure, message: string) {
    super(code, message);
  }
}

export interface TimeClaim {
  readonly claim: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly iso: string;
  readonly relative: string;
}

export interface DecodedToken {
  /** The first 12 hex digits of the token's SHA-256: safe to print, enough to compare. */
  readonly fingerprint: string;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly times: readonly TimeClaim[];
  /** exp − iat, when both are numbers. */
  readonly lifetimeMs?: number;
}

/** The registered and common OIDC claims that hold NumericDate values (RFC 7519 §2, OIDC Core §2). */
const timeClaims = ["iat", "nbf", "exp", "auth_time", "updated_at"] as const;

const base64url = /^[A-Za-z0-9_-]*$/;

function decodePart(part: string, name: string): Record<string, unknown> {
  const unpadded = part.replace(/=+$/, "");
  if (!base64url.test(unpadded)) {
    throw new TokenDecodeError(
      "BAD_BASE64URL",
      `the ${name} is not base64url (RFC 7515 §2): it holds other characters`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(unpadded, "base64url").toString("utf8"));
  } catch {
    throw new TokenDecodeError("BAD_JSON", `the ${name} does not decode to JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TokenDecodeError("NOT_AN_OBJECT", `the ${name} decodes to JSON that is not an object`);
  }
  return value as Record<string, unknown>;
}

export function tokenFingerprint(raw: string): string {
  return createHash("sha256").update(raw).digest("hex").slice(0, 12);
}

export function decodeToken(raw: string, now = Date.now()): DecodedToken {
  const parts = raw.split(".");
  if (parts.length === 5) {
    throw new TokenDecodeError(
      "ENCRYPTED_TOKEN",
      "this is an encrypted token (JWE, five parts): kube-apiserver accepts only signed JWTs; ask the issuer for an unencrypted id token",
    );
  }
  if (parts.length !== 3) {
    throw new TokenDecodeError(
      "NOT_A_JWT",
      `a JWT has three dot-separated parts, this has ${parts.length}: it may be an opaque access token, a refresh token or a cookie`,
    );
  }
  const header = decodePart(parts[0] ?? "", "header");
  const claims = decodePart(parts[1] ?? "", "payload");
  const times: TimeClaim[] = [];
  for (const claim of timeClaims) {
    const value = claims[claim];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const at = value * 1000;
    // Beyond ±8.64e15 ms a Date cannot hold it (ECMAScript's time range): shown as a number only.
    if (Math.abs(at) > 8.64e15) continue;
    times.push({ claim, at, iso: new Date(at).toISOString(), relative: formatRelative(at, now) });
  }
  const { iat, exp } = claims;
  const lifetimeMs = typeof iat === "number" && typeof exp === "number" ? (exp - iat) * 1000 : undefined;
  return { fingerprint: tokenFingerprint(raw), header, claims, times, lifetimeMs };
}
